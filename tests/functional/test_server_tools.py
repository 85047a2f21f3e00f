"""meterd-dbsync, meterd-expirer and the WSGI entry point, run as an operator would."""

import datetime
import os
import subprocess
import sys
import uuid

import sqlalchemy as sa
import webtest

from meterd.api import wsgi
from meterd import storage
from meterd.storage import models
from meterd import timestamps
from tests import conftest

BIN = os.path.dirname(sys.executable)


def _conf_file(tmp_path, db, **database):
    lines = ['[api]', 'auth_strategy = noauth', '[database]', f'connection = sqlite:///{db}']
    lines += [f'{k} = {v}' for k, v in database.items()]
    path = tmp_path / 'meterd.conf'
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _run(tool, conf_file):
    return subprocess.run([os.path.join(BIN, tool), '--config-file', conf_file],
                          capture_output=True, text=True, timeout=120)


def test_dbsync_creates_the_schema_and_is_idempotent(tmp_path):
    db = tmp_path / 'state' / 'meterd.db'
    conf_file = _conf_file(tmp_path, db)
    for _ in range(2):
        result = _run('meterd-dbsync', conf_file)
        assert result.returncode == 0, result.stderr
    engine = sa.create_engine(f'sqlite:///{db}')
    with engine.connect() as c:
        assert {'samples', 'meters', 'resources', 'meter_resources'} <= set(
            sa.inspect(c).get_table_names())
    engine.dispose()


def test_dbsync_reports_an_unknown_scheme(tmp_path):
    path = tmp_path / 'meterd.conf'
    path.write_text('[database]\nconnection = nosuch://x/y\n')
    result = _run('meterd-dbsync', str(path))
    assert result.returncode == 1
    assert "no storage driver for scheme 'nosuch'" in result.stdout + result.stderr


def test_expirer_keeps_everything_without_a_time_to_live(tmp_path):
    result = _run('meterd-expirer', _conf_file(tmp_path, tmp_path / 'm.db'))
    assert result.returncode == 0
    assert 'kept forever' in result.stdout + result.stderr


def _sample(hours_ago, resource):
    when = timestamps.utcnow() - datetime.timedelta(hours=hours_ago)
    return models.Sample(
        source='p:openstack', counter_name='cpu', counter_type='gauge', counter_unit='%',
        counter_volume=1.0, user_id='u', project_id='p', resource_id=resource,
        timestamp=when, resource_metadata={}, message_id=str(uuid.uuid4()))


def test_expirer_deletes_old_samples_and_their_resources(tmp_path):
    db = tmp_path / 'm.db'
    conn = storage.get_connection(conftest.make_conf(tmp_path), url=f'sqlite:///{db}')
    conn.record_samples([_sample(48, 'old'), _sample(30, 'mixed'), _sample(1, 'mixed')])
    result = _run('meterd-expirer', _conf_file(tmp_path, db, metering_time_to_live=86400))
    assert result.returncode == 0, result.stderr
    assert 'Expired 2 sample(s)' in result.stdout + result.stderr
    assert [r.resource_id for r in conn.get_resources(storage.SampleFilter())] == ['mixed']
    conn.close()


def test_wsgi_application_is_built_from_the_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv('METERD_CONFIG_FILE', _conf_file(tmp_path, tmp_path / 'w.db'))
    monkeypatch.setattr(wsgi, '_APPLICATION', [])
    application = wsgi.application
    assert wsgi.application is application  # built once
    resp = webtest.TestApp(application).get('/v2/capabilities')
    assert resp.json['api']['meters:query:simple'] is True
    assert (tmp_path / 'w.db').exists()


def test_wsgi_module_has_no_other_lazy_attribute():
    assert not hasattr(wsgi, 'app')
