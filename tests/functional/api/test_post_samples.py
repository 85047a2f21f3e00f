"""POST /v2/meters/{meter_name} through the shipped pipeline (spec §9.4)."""

import datetime
import json
import urllib.parse
import uuid

import pytest

from tests.conftest import ADMIN, member_headers
from tests.functional.api.sampledata import error, post, sample

ECHO_KEYS = {'counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id',
             'project_id', 'user_id', 'source', 'timestamp', 'resource_metadata',
             'message_id'}


def stored(app, headers=ADMIN):
    return app.get('/v2/samples', headers=headers).json


def test_post_answers_201_with_the_accepted_samples(app):
    before = datetime.datetime.utcnow()
    resp = post(app, sample(volume=1))
    assert resp.status_int == 201
    (echo,) = resp.json
    assert set(echo) == ECHO_KEYS
    assert echo['counter_volume'] == 1.0 and isinstance(echo['counter_volume'], float)
    assert echo['project_id'] == 'admin-project' and echo['user_id'] == 'admin-user'
    assert echo['source'] == 'admin-project:openstack'
    assert echo['resource_metadata'] == {}
    assert uuid.UUID(echo['message_id']).version == 1
    when = datetime.datetime.fromisoformat(echo['timestamp'])
    assert when.tzinfo is None and when >= before.replace(microsecond=0)
    (read,) = stored(app)
    assert read['id'] == echo['message_id'] and read['timestamp'] == echo['timestamp']


def test_direct_flag_and_trailing_slash_both_store_synchronously(app):
    post(app, sample(resource='a'))
    app.post_json('/v2/meters/cpu?direct=True', [sample(resource='b')], headers=ADMIN,
                  status=201)
    app.post_json('/v2/meters/cpu/', [sample(resource='c')], headers=ADMIN, status=201)
    assert sorted(s['resource_id'] for s in stored(app)) == ['a', 'b', 'c']


def test_counter_volume_numeric_string_and_zero(app):
    (echo,) = post(app, sample(volume='2.5')).json
    assert echo['counter_volume'] == 2.5
    (echo,) = post(app, sample(volume=0)).json
    assert echo['counter_volume'] == 0.0


@pytest.mark.parametrize('volume', ['abc', 'nan', 'inf', '1e400', True, [1], {'a': 1}])
def test_bad_counter_volume_is_400(app, volume):
    resp = post(app, sample(volume=volume), status=400)
    assert error(resp).startswith('Invalid input for field/attribute samples.')
    assert stored(app) == []


@pytest.mark.parametrize('raw', [b'[{"counter_volume": NaN}]', b'[{"counter_volume": Infinity}]',
                                 b'[{"counter_name": '])
def test_non_json_numbers_and_truncated_body_are_invalid_json(app, raw):
    resp = app.post('/v2/meters/cpu', raw, headers=dict(ADMIN, **{
        'Content-Type': 'application/json'}), status=400)
    assert error(resp) == 'Request is not in valid JSON format'


def test_huge_float_in_body_is_rejected_not_stored_as_infinity(app):
    raw = json.dumps([sample(metadata=None)]).replace('1.0', '1e400').encode()
    resp = app.post('/v2/meters/cpu', raw, headers=dict(ADMIN, **{
        'Content-Type': 'application/json'}), status=400)
    assert error(resp).startswith('Invalid input for field/attribute samples.')


@pytest.mark.parametrize('raw', [b'', b'[]', b'null'])
def test_missing_or_empty_body(app, raw):
    resp = app.post('/v2/meters/cpu', raw, headers=dict(ADMIN, **{
        'Content-Type': 'application/json'}), status=400)
    assert error(resp) == 'Samples should be included in request body'


@pytest.mark.parametrize('body', [['red', 'blue'], {'counter_name': 'cpu'}, 'x'])
def test_body_not_a_list_of_objects(app, body):
    resp = app.post_json('/v2/meters/cpu', body, headers=ADMIN, status=400)
    assert error(resp).startswith('Invalid input for field/attribute samples.')


def test_binding_errors_name_samples(app):
    for bad in (sample(timestamp='not-a-date'), sample(resource_metadata='str'),
                sample(resource_id=5)):
        resp = post(app, bad, status=400)
        assert error(resp).startswith('Invalid input for field/attribute samples.')


def test_unknown_attribute_is_400(app):
    resp = post(app, sample(colour='red'), status=400)
    assert 'colour' in error(resp)


def test_missing_mandatory_fields_counter_name_reported_first(app):
    body = sample()
    del body['resource_id']
    resp = post(app, body, name='cpu', status=400)
    assert error(resp) == ("Invalid input for field/attribute resource_id. Value: 'None'. "
                           "Mandatory field missing.")
    body = {'counter_type': 'gauge'}
    resp = post(app, body, name='cpu', status=400)
    assert error(resp) == ("Invalid input for field/attribute counter_name. Value: 'None'. "
                           "Mandatory field missing.")


def test_counter_name_must_match_the_path(app):
    resp = post(app, sample(name='mem'), name='cpu', status=400)
    assert error(resp) == ("Invalid input for field/attribute counter_name. Value: 'mem'. "
                           "should be cpu")


def test_message_id_must_not_be_set(app):
    resp = post(app, sample(message_id='abc'), status=400)
    assert error(resp) == ("Invalid input for field/attribute message_id. Value: 'abc'. "
                           "The message_id must not be set")


def test_counter_type_is_checked(app):
    resp = post(app, sample(counter_type='weird'), status=400)
    assert error(resp) == ("Invalid input for field/attribute counter_type. Value: 'weird'. "
                           "The counter type must be: gauge, delta, cumulative")


def test_batch_is_all_or_nothing(app):
    resp = post(app, sample(resource='ok'), sample(counter_type='weird'), status=400)
    assert 'counter_type' in error(resp)
    assert stored(app) == []
    assert app.get('/v2/resources', headers=ADMIN).json == []
    assert app.get('/v2/meters', headers=ADMIN).json == []


def test_non_admin_defaults_to_own_project_and_cannot_post_for_another(app):
    member = member_headers('pa', 'ua')
    (echo,) = post(app, sample(), headers=member).json
    assert (echo['project_id'], echo['user_id'], echo['source']) == ('pa', 'ua', 'pa:openstack')
    resp = post(app, sample(resource='x'), sample(resource='y', project_id='pb'),
                headers=member, status=400)
    assert error(resp) == ("Invalid input for field/attribute project_id. Value: 'pb'. "
                           "can not post samples to other projects")
    assert [s['resource_id'] for s in stored(app)] == ['r1']


def test_admin_posts_for_any_project_and_source_is_prefixed(app):
    (echo,) = post(app, sample(project_id='other', user_id='u9', source='mysrc')).json
    assert (echo['project_id'], echo['user_id'], echo['source']) == ('other', 'u9',
                                                                    'other:mysrc')


def test_sample_source_option_is_the_default_source(make_app):
    app = make_app(api={'sample_source': 'custom'})
    (echo,) = post(app, sample()).json
    assert echo['source'] == 'admin-project:custom'


def test_project_less_admin_gets_none_prefix(app):
    headers = {'X-User-Id': 'u', 'X-Roles': 'admin'}
    (echo,) = post(app, sample(), headers=headers).json
    assert echo['project_id'] is None and echo['source'] == 'None:openstack'


def test_posted_offset_is_echoed_and_stored_as_utc(app):
    (echo,) = post(app, sample(timestamp='2012-07-02T10:40:00+02:00')).json
    assert echo['timestamp'] == '2012-07-02T10:40:00+02:00'
    (echo,) = post(app, sample(resource='z', timestamp='2012-08-27T00:00:00Z')).json
    assert echo['timestamp'] == '2012-08-27T00:00:00+00:00'
    post(app, sample(resource='m', timestamp='2012-07-02T10:40:00.123456'))
    got = {s['resource_id']: s['timestamp'] for s in stored(app)}
    assert got == {'r1': '2012-07-02T08:40:00', 'z': '2012-08-27T00:00:00',
                   'm': '2012-07-02T10:40:00.123456'}


def test_metadata_worked_example_round_trips(app):
    metadata = {'display_name': 'test-server', 'tag': 'self.sample',
                'dict_properties.key': 'value', 'not_ignored_list': "['returned']"}
    (echo,) = post(app, sample(resource_metadata=metadata)).json
    assert echo['resource_metadata'] == metadata
    assert stored(app)[0]['metadata'] == metadata


def test_dotted_keys_are_nested_and_read_back_flattened(app):
    metadata = {'nest.name1': 'v1', 'nest.name2': 'v2',
                'dict_properties.key.$1.$key': 'val', 'a.b.c': 'deep'}
    (echo,) = post(app, sample(resource_metadata=metadata)).json
    assert echo['resource_metadata'] == metadata
    assert stored(app)[0]['metadata'] == {
        'nest.name1': 'v1', 'nest.name2': 'v2', 'dict_properties.key:$1:$key': 'val',
        'a.b:c': 'deep'}
    for path, value in (('nest.name1', 'v1'), ('dict_properties.key.$1.$key', 'val'),
                        ('a.b.c', 'deep')):
        got = app.get('/v2/samples', params={'q.field': f'metadata.{path}', 'q.value': value},
                      headers=ADMIN).json
        assert len(got) == 1, path


def test_typed_metadata_is_stored_typed_and_read_as_text(app):
    metadata = {'size': 0, 'ratio': 0.47, 'one': 1.0, 'on': True, 'nothing': None,
                'tags': ['x'], 'nested': {'a': {'b': 1}}, 'text': '0'}
    (echo,) = post(app, sample(resource_metadata=metadata)).json
    expected = {'size': '0', 'ratio': '0.47', 'one': '1.0', 'on': 'True', 'nothing': 'None',
                'tags': "['x']", 'nested.a:b': '1', 'text': '0'}
    assert echo['resource_metadata'] == expected
    assert stored(app)[0]['metadata'] == expected

    def count(value, kind=None, field='metadata.size'):
        params = {'q.field': field, 'q.value': value}
        if kind:
            params['q.type'] = kind
        return len(app.get('/v2/samples', params=params, headers=ADMIN).json)
    assert count('0') == 1
    assert count("'0'") == 0
    assert count('0', 'string') == 0
    assert count('0', 'string', 'metadata.text') == 1
    assert count('0', None, 'metadata.text') == 0
    assert count('True', None, 'metadata.on') == 1
    assert count('true', 'boolean', 'metadata.on') == 1
    assert count('None', None, 'metadata.nothing') == 1
    assert count('0.47', None, 'metadata.ratio') == 1
    assert count('1', None, 'metadata.nested.a.b') == 1


def test_dollar_and_colon_keys_are_kept(app):
    metadata = {'$ab': 'dollar', 'x:y': 'c'}
    (echo,) = post(app, sample(resource_metadata=metadata)).json
    assert echo['resource_metadata'] == metadata
    # §12.6: the first ':' of a flat key reads back as '.'.
    assert stored(app)[0]['metadata'] == {'$ab': 'dollar', 'x.y': 'c'}
    got = app.get('/v2/samples', params={'q.field': 'metadata.$ab', 'q.value': 'dollar'},
                  headers=ADMIN).json
    assert len(got) == 1


@pytest.mark.parametrize('metadata', [{'a\u0000b': 'v'}, {'k': 'v\u0000'},
                                      {'n': {'x\u0000': 1}}])
def test_nul_in_metadata_is_rejected_not_lost(app, metadata):
    resp = post(app, sample(resource_metadata=metadata), status=400)
    assert 'NUL' in error(resp)
    assert stored(app) == []


def test_nul_in_ids_is_rejected(app):
    resp = post(app, sample(resource='a\u0000b'), status=400)
    assert 'resource_id' in error(resp)


def test_unknown_query_parameter_on_post(app):
    resp = app.post_json('/v2/meters/cpu?limit=3', [sample()], headers=ADMIN, status=400)
    assert error(resp) == 'Unknown argument: "limit"'


def test_non_json_content_type_is_415(app):
    app.post('/v2/meters/cpu', b'[]', headers=dict(ADMIN, **{'Content-Type': 'text/plain'}),
             status=415)


def test_meter_names_with_dots_colons_and_non_ascii(app):
    for name in ('disk.read.bytes', 'a:b', 'meter.accenté'):
        path = '/v2/meters/' + urllib.parse.quote(name)
        app.post_json(path, [sample(name=name)], headers=ADMIN, status=201)
        got = app.get(path, headers=ADMIN).json
        assert [s['counter_name'] for s in got] == [name]
