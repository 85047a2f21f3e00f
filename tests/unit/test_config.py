"""Configuration: every option documented, the committed sample current, bad values named."""

import os
import subprocess
import sys

import pytest

from meterd import opts
from meterd import service

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, 'etc', 'meterd', 'meterd.conf.sample')
GENERATOR_CONF = os.path.join(ROOT, 'etc', 'oslo-config-generator', 'meterd.conf')


def test_every_option_has_help():
    undocumented = [opt.name for opt in opts.all_opts() if not (opt.help or '').strip()]
    assert undocumented == []


def test_committed_sample_is_current(tmp_path):
    # A fresh process, as tools/gen-config.sh runs it: prepare_service (which
    # other tests call) changes oslo.log's process-wide default log levels.
    fresh = tmp_path / 'meterd.conf.sample'
    tool = os.path.join(os.path.dirname(sys.executable), 'oslo-config-generator')
    subprocess.run([tool, '--config-file', GENERATOR_CONF, '--output-file', str(fresh)],
                   check=True, capture_output=True, timeout=120, cwd=ROOT)
    with open(SAMPLE) as f:
        committed = f.read()
    assert fresh.read_text() == committed, (
        'etc/meterd/meterd.conf.sample is stale: run tools/gen-config.sh and commit it')


def test_sample_lists_the_issue_options_with_their_defaults():
    with open(SAMPLE) as f:
        text = f.read()
    for line in ('#host = 127.0.0.1', '#port = 8777', '#workers = 1', '#auth_strategy = token',
                 '#default_api_return_limit = 100', '#metering_time_to_live = -1',
                 '#paste_config = api-paste.ini', '#token_file = <None>'):
        assert line in text
    for section in ('[api]', '[database]', '[keystone_authtoken]', '[oslo_policy]'):
        assert section in text


def test_defaults_need_no_config_file(tmp_path):
    conf = service.prepare_service(argv=[], config_files=[])
    assert (conf.api.host, conf.api.port, conf.api.workers) == ('127.0.0.1', 8777, 1)
    assert conf.api.auth_strategy == 'token'
    assert conf.database.metering_time_to_live == -1


def test_config_file_values_are_read(tmp_path):
    path = tmp_path / 'meterd.conf'
    path.write_text('[api]\nport = 9999\nworkers = 3\n[database]\nconnection = sqlite:////x.db\n')
    conf = service.prepare_service(argv=['--config-file', str(path)])
    assert (conf.api.port, conf.api.workers) == (9999, 3)
    assert conf.database.connection == 'sqlite:////x.db'


def test_bad_value_is_a_configuration_error_naming_option_and_file(tmp_path, capsys):
    path = tmp_path / 'meterd.conf'
    path.write_text('[api]\nport = high\n[database]\nmax_retries = -5\n')
    with pytest.raises(SystemExit) as exc:
        service.prepare_service(argv=['--config-file', str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert '[api] port: invalid value in ' + str(path) in err
    assert '[database] max_retries' in err
    assert 'Traceback' not in err


def test_missing_config_file_is_a_configuration_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        service.prepare_service(argv=['--config-file', str(tmp_path / 'absent.conf')])
    assert 'absent.conf' in capsys.readouterr().err
