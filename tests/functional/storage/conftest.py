"""The driver matrix for the one contract suite: SQLite always, others when their URL is set.

A backend is skipped only when its URL is unset; every test of the contract
runs unchanged on each backend.
"""

import os
import uuid

import pytest
import sqlalchemy as sa

from meterd import storage
from tests import conftest as root
from tests import mongodb

POSTGRESQL_URL = os.environ.get('METERD_TEST_POSTGRESQL_URL')


def _fresh_postgresql_schema(url):
    """A fresh schema per test inside the CI database, dropped afterwards."""
    schema = 'test_' + uuid.uuid4().hex[:12]
    engine = sa.create_engine(url.replace('postgresql://', 'postgresql+psycopg://', 1))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA {schema}')
    sep = '&' if '?' in url else '?'
    return engine, schema, f'{url}{sep}options=-csearch_path%3D{schema}'


def _sqlite(tmp_path):
    yield f'sqlite:///{tmp_path}/contract.db'


def _postgresql(tmp_path):
    if not POSTGRESQL_URL:
        pytest.skip('METERD_TEST_POSTGRESQL_URL is not set')
    engine, schema, url = _fresh_postgresql_schema(POSTGRESQL_URL)
    try:
        yield url
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA {schema} CASCADE')
        engine.dispose()


def _mongodb(tmp_path):
    # mongomock unless METERD_TEST_MONGODB_URL names a real server (tests/mongodb.py).
    with mongodb.fresh_database() as url:
        yield url


#: backend name -> generator of a connection URL for one test.
BACKENDS = {'sqlite': _sqlite, 'postgresql': _postgresql, 'mongodb': _mongodb}


@pytest.fixture(params=sorted(BACKENDS))
def backend_url(request, tmp_path):
    gen = BACKENDS[request.param](tmp_path)
    url = next(gen)
    yield url
    gen.close()


@pytest.fixture
def conn(backend_url, tmp_path):
    """A connected, upgraded, empty driver of each backend."""
    conf = root.make_conf(tmp_path)
    connection = storage.get_connection(conf, url=backend_url)
    yield connection
    connection.close()
