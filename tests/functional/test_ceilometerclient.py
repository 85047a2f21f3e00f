"""The real ``ceilometer`` command (python-ceilometerclient 2.9.0) against a meterd-api process.

One server per module, in token mode with an admin and a member token; tests
share it, so each uses its own meter and resource names. ``server.run(...)``
runs one ceilometer command and returns its output; ``server.get(...)``
reads the API directly to check what the client did.
"""

import http.client
import json
import os
import subprocess
import sys

import pytest

from tests import servers

BIN_DIR = os.path.dirname(sys.executable)
#: Generous bound for one client command on a loaded machine.
WAIT = servers.WAIT
TOKENS = {
    'admin-token': {'user_id': 'admin-user', 'project_id': 'admin-project',
                    'roles': ['admin']},
    'member-token': {'user_id': 'member-user', 'project_id': 'member-project',
                     'roles': ['member']},
}


class Server(servers.MeterdServer):
    """A meterd-api subprocess in token mode and a runner for the ceilometer CLI."""

    def __init__(self, workdir):
        tokens = workdir / 'tokens.json'
        tokens.write_text(json.dumps(TOKENS))
        super().__init__(workdir, {'api': {'auth_strategy': 'token', 'token_file': tokens}})

    def get(self, path, token='admin-token'):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=WAIT)
        conn.request('GET', path, headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b'null')

    def run(self, *args, token='admin-token', check=True):
        """Run ``ceilometer <args>``; returns stdout (stderr on failure in the assertion)."""
        cmd = [os.path.join(BIN_DIR, 'ceilometer'), '--os-endpoint', self.endpoint,
               '--os-token', token, *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
        if check:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout if check else done


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp('ceilometerclient'))
    try:
        srv.start()
        srv.wait_ready(headers={'X-Auth-Token': 'admin-token'})
        yield srv
    finally:
        srv.stop()


def table(output):
    """Rows of a prettytable as lists of cell texts, header row first."""
    rows = []
    for line in output.splitlines():
        if line.startswith('|'):
            rows.append([cell.strip() for cell in line.strip('|').split('|')])
    return rows


def properties(output):
    """A ``Property | Value`` table as a dict (continuation lines joined)."""
    props, key = {}, None
    for name, value in table(output)[1:]:
        if name:
            key = name
            props[key] = value
        else:
            props[key] += value
    return props


def create(server, meter, resource, volume, *extra, token='admin-token'):
    return properties(server.run(
        'sample-create', '-r', resource, '-m', meter, '--meter-type', 'gauge',
        '--meter-unit', '%', '--sample-volume', str(volume), *extra, token=token))


def test_sample_create_sends_volume_as_text_and_gets_the_sample(server):
    props = create(server, 'cc.create', 'cc-r1', 5.5, '--resource-metadata',
                   '{"a.b": "c", "n": 1}', '--timestamp', '2020-01-01T10:00:00')
    assert props['name'] == 'cc.create' and props['volume'] == '5.5'
    assert props['source'] == 'admin-project:openstack'
    assert props['timestamp'] == '2020-01-01T10:00:00'
    assert json.loads(props['resource_metadata']) == {'a.b': 'c', 'n': '1'}
    status, body = server.get('/v2/meters/cc.create')
    assert status == 200
    assert [(s['counter_volume'], s['resource_metadata']) for s in body] == [
        (5.5, {'a.b': 'c', 'n': '1'})]


def test_sample_create_list(server):
    samples = [{'counter_name': 'cc.list', 'counter_type': 'delta', 'counter_unit': 'B',
                'counter_volume': v, 'resource_id': 'cc-r2'} for v in (1, 2)]
    out = server.run('sample-create-list', json.dumps(samples))
    rows = table(out)
    assert len(rows) == 3
    status, body = server.get('/v2/meters/cc.list')
    assert sorted(s['counter_volume'] for s in body) == [1.0, 2.0]


def test_meter_list_with_query(server):
    create(server, 'cc.meter', 'cc-r3', 1)
    create(server, 'cc.meter', 'cc-r4', 1)
    rows = table(server.run('meter-list', '-q', 'resource_id=cc-r4'))
    header, body = rows[0], rows[1:]
    assert header[:4] == ['Name', 'Type', 'Unit', 'Resource ID']
    assert [(r[0], r[3]) for r in body] == [('cc.meter', 'cc-r4')]
    names = {r[0] for r in table(server.run('meter-list'))[1:]}
    assert 'cc.meter' in names


def test_sample_list_old_and_new_forms_and_sample_show(server):
    create(server, 'cc.samples', 'cc-r5', 1, '--timestamp', '2020-01-01T10:00:00')
    create(server, 'cc.samples', 'cc-r5', 2, '--timestamp', '2020-01-01T11:00:00')
    old = table(server.run('sample-list', '-m', 'cc.samples'))
    assert old[0][:4] == ['Resource ID', 'Name', 'Type', 'Volume']
    assert [r[3] for r in old[1:]] == ['2.0', '1.0']
    new = table(server.run('sample-list', '-q', 'resource_id=cc-r5', '-l', '1'))
    assert new[0][0] == 'ID'
    (row,) = new[1:]
    assert row[4] == '2.0'
    shown = properties(server.run('sample-show', row[0]))
    assert shown['id'] == row[0] and shown['volume'] == '2.0'
    assert shown['timestamp'] == '2020-01-01T11:00:00'
    missing = server.run('sample-show', 'no-such-sample', check=False)
    assert missing.returncode != 0


def test_resource_list_and_show(server):
    create(server, 'cc.res', 'cc/r6', 1, '--resource-metadata', '{"flavor": "m1"}')
    rows = table(server.run('resource-list', '-q', 'resource_id=cc/r6'))
    assert rows[0][:2] == ['Resource ID', 'Source']
    assert [r[0] for r in rows[1:]] == ['cc/r6']
    shown = properties(server.run('resource-show', 'cc/r6'))
    assert shown['resource_id'] == 'cc/r6'
    assert json.loads(shown['metadata']) == {'flavor': 'm1'}


def test_member_is_scoped_to_its_project(server):
    create(server, 'cc.scoped', 'cc-member-r', 1, token='member-token')
    create(server, 'cc.scoped', 'cc-admin-r', 1)
    rows = table(server.run('resource-list', token='member-token'))
    assert [r[0] for r in rows[1:]] == ['cc-member-r']
    denied = server.run('sample-list', '-q', 'project_id=admin-project',
                        token='member-token', check=False)
    # The client reports any 401 as an authentication failure; the API's text is exact.
    assert denied.returncode != 0
    status, body = server.get('/v2/samples?q.field=project_id&q.value=admin-project',
                              token='member-token')
    assert status == 401
    assert body['error_message']['faultstring'] == \
        'Not Authorized to access project admin-project'


def test_capabilities(server):
    out = server.run('capabilities')
    assert '"samples:query:complex": true' in out
    assert '"storage:production_ready": true' in out


def _stats_data(server, meter):
    for volume, when in ((5, '10:30'), (6, '11:31'), (7, '12:32')):
        create(server, meter, 'cc-s1', volume, '--timestamp', f'2020-02-01T{when}:00')
    create(server, meter, 'cc-s2', 100, '--timestamp', '2020-02-01T09:00:00')


def test_statistics_with_query_and_period(server):
    _stats_data(server, 'cc.stats')
    rows = table(server.run('statistics', '-m', 'cc.stats', '-q', 'resource_id=cc-s1',
                            '-p', '3600'))
    header, body = rows[0], rows[1:]
    assert header[:3] == ['Period', 'Period Start', 'Period End']
    start = header.index('Period Start')
    total = header.index('Sum')
    assert [(r[start], r[total]) for r in body] == [
        ('2020-02-01T10:30:00', '5.0'), ('2020-02-01T11:30:00', '6.0'),
        ('2020-02-01T12:30:00', '7.0')]


def test_statistics_groupby_and_selectable_aggregates(server):
    _stats_data(server, 'cc.stats.agg')
    rows = table(server.run('statistics', '-m', 'cc.stats.agg', '-g', 'resource_id',
                            '-g', 'project_id', '-a', 'avg', '-a', 'max', '-a', 'stddev',
                            '-a', 'cardinality<-resource_id'))
    header, body = rows[0], rows[1:]
    cells = [dict(zip(header, r)) for r in body]
    assert [c['Avg'] for c in cells] == ['100.0', '6.0']
    assert [c['Max'] for c in cells] == ['100.0', '7.0']
    assert cells[1]['Standard deviation'].startswith('0.816')
    assert [c['cardinality/resource_id'] for c in cells] == ['1.0', '1.0']
    assert "cc-s1" in cells[1]['Group By'] and 'admin-project' in cells[1]['Group By']


def test_statistics_errors_reach_the_user(server):
    bad = server.run('statistics', '-m', 'cc.stats', '-p', '-5', check=False)
    assert bad.returncode != 0
    assert 'Period must be positive.' in bad.stderr


def test_query_samples_filter_orderby_limit(server):
    _stats_data(server, 'cc.query')
    flt = json.dumps({'and': [{'=': {'meter': 'cc.query'}}, {'>': {'volume': 5}},
                              {'in': {'resource': ['cc-s1']}}]})
    rows = table(server.run('query-samples', '--filter', flt, '--orderby',
                            '[{"volume": "desc"}]', '--limit', '1'))
    header, body = rows[0], rows[1:]
    volume = header.index('Volume')
    assert [r[volume] for r in body] == ['7.0']
    rows = table(server.run('query-samples', '--filter', flt, '--orderby',
                            '[{"timestamp": "asc"}]'))
    assert [r[volume] for r in rows[1:]] == ['6.0', '7.0']


def test_query_samples_member_scope(server):
    create(server, 'cc.query.scope', 'cc-qm', 1, token='member-token')
    create(server, 'cc.query.scope', 'cc-qa', 2)
    flt = json.dumps({'=': {'meter': 'cc.query.scope'}})
    rows = table(server.run('query-samples', '--filter', flt, token='member-token'))
    resource = rows[0].index('Resource ID')
    assert [r[resource] for r in rows[1:]] == ['cc-qm']
    other = json.dumps({'=': {'project': 'admin-project'}})
    denied = server.run('query-samples', '--filter', other, token='member-token',
                        check=False)
    assert denied.returncode != 0
