"""GET /v2/resources and GET /v2/resources/{id} through the shipped pipeline (§9.7)."""

from tests.conftest import ADMIN
from tests.functional.api.sampledata import error, post, sample

RESOURCE_KEYS = {'resource_id', 'project_id', 'user_id', 'source', 'first_sample_timestamp',
                 'last_sample_timestamp', 'metadata', 'links'}


def resources(app, headers=ADMIN, **params):
    return app.get('/v2/resources', params=params, headers=headers).json


def test_empty_store(app):
    assert resources(app) == []


def test_resource_has_eight_keys_and_links(app):
    post(app, sample(name='cpu', resource_metadata={'flavor': {'name': 'm1'}}))
    post(app, sample(name='disk.read.bytes', timestamp='2000-01-01T00:00:00'))
    (res,) = resources(app)
    assert set(res) == RESOURCE_KEYS
    assert res['metadata'] == {'flavor.name': 'm1'}
    assert res['links'] == [
        {'href': 'http://localhost/v2/resources/r1', 'rel': 'self'},
        {'href': 'http://localhost/v2/meters/cpu?q.field=resource_id&q.value=r1',
         'rel': 'cpu'},
        {'href': 'http://localhost/v2/meters/disk.read.bytes?q.field=resource_id&q.value=r1',
         'rel': 'disk.read.bytes'}]


def test_meter_links_zero_gives_only_self(app):
    post(app, sample())
    (res,) = resources(app, meter_links=0)
    assert res['links'] == [{'href': 'http://localhost/v2/resources/r1', 'rel': 'self'}]
    (res,) = resources(app, meter_links=5)
    assert len(res['links']) == 2


def test_meter_links_must_be_an_integer(app):
    resp = app.get('/v2/resources', params={'meter_links': 'yes please'}, headers=ADMIN,
                   status=400)
    assert error(resp) == ("Invalid input for field/attribute meter_links. "
                           "Value: 'yes please'. unable to convert to int")


def test_owner_from_greatest_timestamp_not_arrival(app):
    post(app, sample(timestamp='2020-01-01T10:42:00', user_id='A',
                     resource_metadata={'v': 'a'}))
    post(app, sample(timestamp='2020-01-01T10:40:00', user_id='B',
                     resource_metadata={'v': 'b'}))
    (res,) = resources(app)
    assert res['user_id'] == 'A' and res['metadata'] == {'v': 'a'}
    assert res['first_sample_timestamp'] == '2020-01-01T10:40:00'
    assert res['last_sample_timestamp'] == '2020-01-01T10:42:00'


def test_time_window_recomputes_first_and_last(app):
    post(app, *[sample(timestamp=f'2020-01-01T10:4{i}:00', user_id=f'u{i}') for i in range(3)])
    (res,) = resources(app, **{'q.field': 'timestamp', 'q.op': 'ge',
                               'q.value': '2020-01-01T10:41:00'})
    assert res['first_sample_timestamp'] == '2020-01-01T10:41:00'
    assert res['last_sample_timestamp'] == '2020-01-01T10:42:00'
    (res,) = resources(app, **{'q.field': 'timestamp', 'q.op': 'lt',
                               'q.value': '2020-01-01T10:42:00'})
    assert res['user_id'] == 'u1'


def test_owner_terms_consider_only_that_owners_samples(app):
    post(app, sample(timestamp='2020-01-01T10:00:00', project_id='p1', user_id='u1'),
         sample(timestamp='2020-01-01T11:00:00', project_id='p2', user_id='u2'))
    (res,) = resources(app, **{'q.field': 'project', 'q.value': 'p1'})
    assert (res['project_id'], res['last_sample_timestamp']) == ('p1', '2020-01-01T10:00:00')
    (res,) = resources(app, **{'q.field': 'user_id', 'q.value': 'u2'})
    assert (res['user_id'], res['first_sample_timestamp']) == ('u2', '2020-01-01T11:00:00')
    (res,) = resources(app, **{'q.field': 'source', 'q.value': 'p2:openstack'})
    assert res['source'] == 'p2:openstack'


def test_metadata_filter_matches_each_sample(app):
    post(app, sample(resource='a', timestamp='2020-01-01T10:00:00',
                     resource_metadata={'tag': 'x'}),
         sample(resource='a', timestamp='2020-01-01T11:00:00', resource_metadata={'tag': 'y'}),
         sample(resource='b', resource_metadata={'tag': 'y'}))
    got = resources(app, **{'q.field': 'metadata.tag', 'q.value': 'x'})
    assert [(r['resource_id'], r['metadata']) for r in got] == [('a', {'tag': 'x'})]


def test_order_newest_last_sample_first_then_id_and_limit(app):
    post(app, sample(resource='b', timestamp='2020-01-01T10:00:00'),
         sample(resource='a', timestamp='2020-01-01T10:00:00'),
         sample(resource='c', timestamp='2020-01-02T10:00:00'))
    assert [r['resource_id'] for r in resources(app)] == ['c', 'a', 'b']
    assert [r['resource_id'] for r in resources(app, limit=2)] == ['c', 'a']


def test_unknown_fields_for_resources(app):
    for field in ('meter', 'id', 'message_id'):
        resp = app.get('/v2/resources', params={'q.field': field, 'q.value': 'x'},
                       headers=ADMIN, status=400)
        assert error(resp).startswith(f'Unknown argument: "{field}": unrecognized field in '
                                      'query: [')
        assert error(resp).endswith("valid keys: ['project', 'resource', 'search_offset', "
                                    "'source', 'timestamp', 'user']")


def test_show_with_slash_double_and_single_encoded(app):
    post(app, sample(resource='abc/glance'))
    post(app, sample(name='mem', resource='abc/glance'))
    for path in ('/v2/resources/abc%252Fglance', '/v2/resources/abc%2Fglance',
                 '/v2/resources/abc%252Fglance/'):
        res = app.get(path, headers=ADMIN).json
        assert res['resource_id'] == 'abc/glance'
        assert [link['rel'] for link in res['links']] == ['self', 'cpu', 'mem']


def test_show_unknown_is_404(app):
    resp = app.get('/v2/resources/nope', headers=ADMIN, status=404)
    assert error(resp) == 'Resource nope Not Found'


def test_show_takes_no_parameters(app):
    post(app, sample())
    resp = app.get('/v2/resources/r1?meter_links=0', headers=ADMIN, status=400)
    assert error(resp) == 'Unknown argument: "meter_links"'


def test_listing_more_resources_than_one_link_batch(app):
    post(app, *[sample(resource=f'r{i:04d}', timestamp='2020-01-01T00:00:00')
                for i in range(620)])
    got = resources(app, limit=700)
    assert len(got) == 620
    assert all(len(r['links']) == 2 for r in got)
    assert [r['resource_id'] for r in got] == sorted(r['resource_id'] for r in got)
