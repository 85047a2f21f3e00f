"""GET /v2/meters and GET /v2/meters/{meter_name} through the shipped pipeline (§9.2, §9.3)."""

import base64

from tests.conftest import ADMIN
from tests.functional.api.sampledata import error, post, sample

OLD_SAMPLE_KEYS = {'counter_name', 'counter_type', 'counter_unit', 'counter_volume',
                   'resource_id', 'project_id', 'user_id', 'source', 'timestamp',
                   'recorded_at', 'resource_metadata', 'message_id'}


def meters(app, headers=ADMIN, **params):
    return app.get('/v2/meters', params=params, headers=headers).json


def test_empty_store_lists_nothing(app):
    assert meters(app) == []
    assert meters(app, unique='True') == []
    assert app.get('/v2/meters/nope', headers=ADMIN).json == []


def test_meter_entries_sorted_by_resource_then_name(app):
    post(app, sample(name='mem', resource='r2'))
    post(app, sample(name='cpu', resource='r2'), sample(name='cpu', resource='r1'))
    post(app, sample(name='disk.read.bytes', resource='r1', counter_unit='B',
                     counter_type='cumulative'))
    got = meters(app)
    assert [(m['resource_id'], m['name']) for m in got] == [
        ('r1', 'cpu'), ('r1', 'disk.read.bytes'), ('r2', 'cpu'), ('r2', 'mem')]
    entry = got[1]
    assert entry == {
        'name': 'disk.read.bytes', 'type': 'cumulative', 'unit': 'B', 'resource_id': 'r1',
        'project_id': 'admin-project', 'user_id': 'admin-user',
        'source': 'admin-project:openstack',
        'meter_id': base64.b64encode(b'r1+disk.read.bytes').decode()}


def test_same_name_with_another_unit_is_listed_separately(app):
    post(app, sample(), sample(counter_unit='ns'))
    assert sorted(m['unit'] for m in meters(app)) == ['%', 'ns']


def test_limit_counts_entries(app):
    post(app, *[sample(resource=f'r{i}') for i in range(5)])
    assert len(meters(app, limit=3)) == 3


def test_describing_sample_is_most_recently_stored(app):
    post(app, sample(user_id='u-late', timestamp='2020-01-02T00:00:00'))
    post(app, sample(user_id='u-stored-last', timestamp='2020-01-01T00:00:00'))
    (entry,) = meters(app)
    assert entry['user_id'] == 'u-stored-last'


def test_filters_apply_to_the_describing_sample_only(app):
    post(app, sample(name='a', resource_metadata={'tag': 'x'}))
    post(app, sample(name='b', resource_metadata={'tag': 'x'}))
    post(app, sample(name='b', resource_metadata={}))
    got = meters(app, **{'q.field': 'metadata.tag', 'q.value': 'x'})
    assert [m['name'] for m in got] == ['a']


def test_owner_and_source_filters(app):
    post(app, sample(resource='r1', project_id='p1', user_id='u1', source='s'))
    post(app, sample(resource='r2', project_id='p2', user_id='u2'))
    assert [m['resource_id'] for m in meters(app, **{'q.field': 'project_id',
                                                     'q.value': 'p2'})] == ['r2']
    assert [m['resource_id'] for m in meters(app, **{'q.field': 'user', 'q.value': 'u1'})] \
        == ['r1']
    assert [m['resource_id'] for m in meters(app, **{'q.field': 'resource',
                                                     'q.value': 'r2'})] == ['r2']
    assert [m['resource_id'] for m in meters(app, **{'q.field': 'source',
                                                     'q.value': 'p1:s'})] == ['r1']
    assert meters(app, **{'q.field': 'source', 'q.value': 's'}) == []


def test_unique_lists_each_name_once_with_null_owner(app):
    post(app, sample(name='cpu', resource='r1'), sample(name='cpu', resource='r2'),
         sample(name='cpu', resource='r3'))
    post(app, sample(name='mem', resource='r1'))
    got = meters(app, unique='true')
    assert got == [
        {'name': 'cpu', 'type': 'gauge', 'unit': '%', 'resource_id': None,
         'project_id': None, 'user_id': None, 'source': None,
         'meter_id': base64.b64encode(b'None+cpu').decode()},
        {'name': 'mem', 'type': 'gauge', 'unit': '%', 'resource_id': None,
         'project_id': None, 'user_id': None, 'source': None,
         'meter_id': base64.b64encode(b'None+mem').decode()}]
    assert len(meters(app, unique='yes', limit=1)) == 1
    assert len(meters(app, unique='no')) == 4


def test_timestamp_and_search_offset_are_not_valid_for_meters(app):
    for field in ('timestamp', 'search_offset'):
        resp = app.get('/v2/meters', params={'q.field': field, 'q.op': 'ge',
                                             'q.value': '2020-01-01'},
                       headers=ADMIN, status=400)
        assert error(resp) == f'Unknown argument: "{field}": not valid for this resource'


def test_unique_and_meter_are_not_query_fields_of_meters(app):
    for field in ('unique', 'meter'):
        resp = app.get('/v2/meters', params={'q.field': field, 'q.value': 'x'},
                       headers=ADMIN, status=400)
        assert error(resp) == (
            f'Unknown argument: "{field}": unrecognized field in query: '
            f"[<Query '{field}' eq 'x' Unset>], valid keys: "
            "['project', 'resource', 'source', 'user']")


def test_samples_of_a_meter_in_old_form_newest_first(app):
    post(app, sample(timestamp='2020-01-01T10:00:00', volume=1,
                     resource_metadata={'a.b': 'c'}),
         sample(timestamp='2020-01-01T12:00:00', volume=3),
         sample(timestamp='2020-01-01T11:00:00', volume=2))
    post(app, sample(name='other'))
    got = app.get('/v2/meters/cpu', headers=ADMIN).json
    assert [s['counter_volume'] for s in got] == [3.0, 2.0, 1.0]
    assert all(set(s) == OLD_SAMPLE_KEYS for s in got)
    oldest = got[-1]
    assert oldest['timestamp'] == '2020-01-01T10:00:00'
    assert oldest['resource_metadata'] == {'a.b': 'c'}
    assert oldest['recorded_at'] is not None
    got = app.get('/v2/meters/cpu', params={'limit': 1, 'q.field': 'timestamp',
                                            'q.op': 'lt', 'q.value': '2020-01-01T12:00:00'},
                  headers=ADMIN).json
    assert [s['counter_volume'] for s in got] == [2.0]


def test_path_meter_wins_over_a_meter_term(app):
    post(app, sample(name='cpu'))
    post(app, sample(name='mem'))
    got = app.get('/v2/meters/cpu', params={'q.field': 'meter', 'q.value': 'mem'},
                  headers=ADMIN).json
    assert [s['counter_name'] for s in got] == ['cpu']


def test_meter_show_rejects_unknown_parameters(app):
    resp = app.get('/v2/meters/cpu?unique=True', headers=ADMIN, status=400)
    assert error(resp) == 'Unknown argument: "unique"'


def test_meters_wrong_methods(app):
    assert app.post('/v2/meters', headers=ADMIN, status=405).headers['Allow'] == 'GET'
    resp = app.delete('/v2/meters/cpu', headers=ADMIN, status=405)
    assert resp.headers['Allow'] == 'GET, POST'
