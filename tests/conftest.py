"""Shared fixtures: a ConfigOpts per test, the shipped paste app over a real database."""

import os

import pytest
import webtest

from meterd.api import app as api_app
from meterd import service
from tests import mongodb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASTE_FILE = os.path.join(ROOT, 'etc', 'api-paste.ini')


def make_conf(tmp_path, **groups):
    """A ConfigOpts as prepare_service builds it, with ``{group: {opt: value}}`` overrides."""
    conf = service.prepare_service(argv=[], config_files=[])
    conf.set_override('state_path', str(tmp_path))
    if 'keystone_authtoken' in groups or groups.get('api', {}).get('auth_strategy') == 'keystone':
        service.register_keystone_opts(conf)
    for group, values in groups.items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == 'DEFAULT' else group)
    return conf


@pytest.fixture
def conf_factory(tmp_path):
    return lambda **groups: make_conf(tmp_path, **groups)


@pytest.fixture
def sqlite_url(tmp_path):
    return f'sqlite:///{tmp_path}/meterd.db'


@pytest.fixture(params=['sqlite', 'mongodb'])
def storage_url(request, sqlite_url):
    """make_app's default store: every API test runs on SQLite and on MongoDB.

    MongoDB is mongomock, or the server named by METERD_TEST_MONGODB_URL.
    """
    if request.param == 'sqlite':
        yield sqlite_url
        return
    with mongodb.fresh_database() as url:
        yield url


@pytest.fixture
def make_app(tmp_path, storage_url):
    """Build ``webtest.TestApp`` over the shipped paste file; kwargs are conf overrides."""
    def _make(auth_strategy='noauth', connection=None, paste_file=PASTE_FILE, **groups):
        api = dict(groups.pop('api', {}), auth_strategy=auth_strategy)
        database = dict(groups.pop('database', {}), connection=connection or storage_url)
        conf = make_conf(tmp_path, api=api, database=database, **groups)
        return webtest.TestApp(api_app.load_app(conf, paste_file=paste_file))
    return _make


ADMIN = {'X-User-Id': 'admin-user', 'X-Project-Id': 'admin-project', 'X-Roles': 'admin'}


def member_headers(project='project-a', user='user-a'):
    return {'X-User-Id': user, 'X-Project-Id': project, 'X-Roles': 'member'}


@pytest.fixture
def app(make_app):
    """The noauth pipeline over a fresh SQLite file."""
    return make_app()
