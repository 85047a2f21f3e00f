"""Project isolation: a non-admin of project A neither sees nor infers project B's data.

Every test has an admin control proving B's data is there to be leaked.
"""

import json
import urllib.parse
import uuid

from keystonemiddleware import fixture as ks_fixture
import pytest

from tests.functional.hardening import conftest as hc

A, B = 'proj-a', 'proj-b'
MEMBER_A = hc.member_headers(A, 'user-a')


@pytest.fixture
def api(app):
    def post(meter, resource, project, volume, metadata, ts):
        body = [hc.sample(meter, resource, project=project, user_id=f'user-{project[-1]}',
                          volume=volume, timestamp=ts, resource_metadata=metadata)]
        app.post_json(f'/v2/meters/{meter}', body, headers=hc.ADMIN, status=201)
    post('cpu', 'res-a', A, 1.0, {'secret': 'a-secret'}, '2024-01-01T10:00:00')
    post('cpu', 'res-b', B, 100.0, {'secret': 'b-secret'}, '2024-01-01T11:00:00')
    post('b.only', 'res-b', B, 7.0, {'secret': 'b-secret'}, '2024-01-01T11:30:00')
    # One resource id measured in both projects; B's sample is the newest.
    post('cpu', 'shared', A, 2.0, {'owner': 'a'}, '2024-01-01T12:00:00')
    post('b.only', 'shared', B, 9.0, {'owner': 'b'}, '2024-01-01T13:00:00')
    return app


def _get(app, path, params=(), headers=MEMBER_A, status=200):
    query = urllib.parse.urlencode(_NAMING.get(path, []) + list(params))
    return app.get(path + ('?' + query if query else ''), headers=headers, status=status)


def q(field, value, op='eq'):
    return [('q.field', field), ('q.op', op), ('q.value', value), ('q.type', '')]


def _no_b(payload):
    text = json.dumps(payload)
    for leak in (B, 'res-b', 'b-secret', 'b.only', 'user-b', '"owner": "b"', ': 100.0',
                 ': 9.0', ': 7.0'):
        assert leak not in text, f'{leak} leaked in {text[:300]}'


LISTS = ['/v2/meters', '/v2/meters/cpu', '/v2/meters/b.only', '/v2/samples', '/v2/resources',
         '/v2/meters/cpu/statistics', '/v2/meters/b.only/statistics']
#: Extra parameters that make a list name its projects (statistics group by project; the
#: meter links of resources are checked on their own, below).
_NAMING = {'/v2/meters/cpu/statistics': [('groupby', 'project_id')],
           '/v2/meters/b.only/statistics': [('groupby', 'project_id')],
           '/v2/resources': [('meter_links', '0')]}


@pytest.mark.parametrize('path', LISTS)
def test_lists_show_only_the_callers_project(api, path):
    assert B in json.dumps(_get(api, path, headers=hc.ADMIN).json)
    _no_b(_get(api, path).json)


@pytest.mark.parametrize('path', LISTS)
@pytest.mark.parametrize('field', ['project', 'project_id'])
@pytest.mark.parametrize('op', ['eq', 'ne', 'lt', 'ge', 'whats-up'])
def test_asking_for_another_project_through_q_is_401(api, path, field, op):
    if op == 'eq':
        assert B in json.dumps(_get(api, path, q(field, B), headers=hc.ADMIN).json)
    resp = _get(api, path, q(field, B, op), status=401)
    assert resp.json['error_message']['faultstring'] == f'Not Authorized to access project {B}'
    resp = _get(api, path, q(field, A) + q(field, B), status=401)
    assert resp.json['error_message']['faultcode'] == 'Client'


@pytest.mark.parametrize('path', LISTS)
def test_metadata_leaves_of_another_project_match_nothing(api, path):
    params = q('metadata.secret', 'b-secret')
    if 'statistics' not in path or 'b.only' in path:
        assert _get(api, path, params, headers=hc.ADMIN).json
    assert _get(api, path, params).json == []


def test_statistics_totals_and_groups_do_not_include_another_project(api):
    admin = api.get('/v2/meters/cpu/statistics', headers=hc.ADMIN).json
    assert admin[0]['sum'] == 103.0
    (mine,) = api.get('/v2/meters/cpu/statistics', headers=MEMBER_A).json
    assert (mine['sum'], mine['count'], mine['max']) == (3.0, 2, 2.0)
    params = [('groupby', 'project_id'), ('groupby', 'resource_id'), ('groupby', 'user_id'),
              ('groupby', 'source'), ('groupby', 'resource_metadata.secret'),
              ('aggregate.func', 'cardinality'), ('aggregate.param', 'project_id')]
    assert B in json.dumps(_get(api, '/v2/meters/cpu/statistics', params, hc.ADMIN).json)
    groups = _get(api, '/v2/meters/cpu/statistics', params).json
    _no_b(groups)
    assert {g['groupby']['project_id'] for g in groups} == {A}
    assert all(g['aggregate']['cardinality/project_id'] == 1.0 for g in groups)


def test_unique_meters_show_only_the_callers_names(api):
    assert 'b.only' in json.dumps(_get(api, '/v2/meters', [('unique', 'true')], hc.ADMIN).json)
    _no_b(_get(api, '/v2/meters', [('unique', 'true')]).json)


def test_meter_links_of_a_shared_resource_name_only_the_callers_meters(api):
    admin = _get(api, '/v2/resources/shared', headers=hc.ADMIN).json
    assert 'b.only' in [link['rel'] for link in admin['links']]
    for resource in [_get(api, '/v2/resources/shared').json] + [
            r for r in api.get('/v2/resources', headers=MEMBER_A).json]:
        assert [link['rel'] for link in resource['links']][1:] in ([], ['cpu'])


def test_a_shared_resource_is_described_by_the_callers_own_samples(api):
    admin = _get(api, '/v2/resources/shared', headers=hc.ADMIN).json
    assert admin['project_id'] == B
    listed = [r for r in _get(api, '/v2/resources').json if r['resource_id'] == 'shared']
    assert len(listed) == 1
    assert (listed[0]['project_id'], listed[0]['metadata']) == (A, {'owner': 'a'})
    _no_b(listed)
    shown = _get(api, '/v2/resources/shared').json
    assert (shown['project_id'], shown['metadata']) == (A, {'owner': 'a'})


def test_show_by_id_of_another_project_is_the_same_404_as_a_missing_id(api):
    b_id = next(s['id'] for s in _get(api, '/v2/samples', headers=hc.ADMIN).json
                if s['project_id'] == B)
    assert _get(api, f'/v2/samples/{b_id}', headers=hc.ADMIN).json['project_id'] == B
    theirs = _get(api, f'/v2/samples/{b_id}', status=404).json
    missing_id = str(uuid.uuid1())
    missing = _get(api, f'/v2/samples/{missing_id}', status=404).json
    assert theirs['error_message']['faultstring'] == f'Sample {b_id} Not Found'
    assert missing['error_message']['faultstring'] == f'Sample {missing_id} Not Found'
    assert _get(api, '/v2/resources/res-b', headers=hc.ADMIN).json['project_id'] == B
    resp = _get(api, '/v2/resources/res-b', status=404).json
    assert resp['error_message']['faultstring'] == 'Resource res-b Not Found'


def _query(app, filter_expr, headers=MEMBER_A, status=200):
    body = {'filter': json.dumps(filter_expr), 'limit': 100}
    return app.post_json('/v2/query/samples', body, headers=headers, status=status)


@pytest.mark.parametrize('filter_expr', [
    {'=': {'project_id': B}}, {'=': {'project': B}}, {'!=': {'project_id': B}},
    {'in': {'project_id': [A, B]}}, {'in': {'project': [A]}}, {'=~': {'project_id': 'proj-.*'}},
    {'not': {'=': {'project_id': B}}}, {'and': [{'=': {'project_id': A}}, {'=': {'project': B}}]},
    {'or': [{'=': {'meter': 'cpu'}}, {'>=': {'project_id': B}}]},
    {'OR': [{'=': {'meter': 'cpu'}}, {'NOT': {'<': {'project': 'zzz'}}}]},
])
def test_complex_query_naming_another_project_is_401(api, filter_expr):
    assert _query(api, {'=': {'project_id': B}}, headers=hc.ADMIN).json
    resp = _query(api, filter_expr, status=401)
    assert resp.json['error_message']['faultstring'].startswith('Not Authorized to access project')


@pytest.mark.parametrize('filter_expr', [
    {'=~': {'resource_id': '.*'}}, {'!=': {'resource_id': 'res-a'}}, {'!=': {'project_id': A}},
    {'or': [{'=': {'resource_id': 'res-b'}}, {'=': {'meter': 'b.only'}}]},
    {'not': {'=': {'project_id': A}}}, {'=': {'metadata.secret': 'b-secret'}},
    {'in': {'resource': ['res-b', 'shared']}}, {'>': {'volume': 5}},
    {'=~': {'metadata.owner': 'b'}}, {'not': {'=~': {'meter': '^cpu$'}}},
])
def test_complex_query_never_returns_another_projects_samples(api, filter_expr):
    admin = _query(api, filter_expr, headers=hc.ADMIN).json
    assert any(s['project_id'] == B for s in admin)
    mine = _query(api, filter_expr).json
    _no_b(mine)
    assert all(s['project_id'] == A for s in mine)


def test_posting_for_another_project_is_400_and_stores_nothing(api):
    before = len(_get(api, '/v2/samples', headers=hc.ADMIN).json)
    batch = [hc.sample('cpu', 'res-a', project=A), hc.sample('cpu', 'res-x', project=B)]
    resp = api.post_json('/v2/meters/cpu', batch, headers=MEMBER_A, status=400)
    assert 'can not post samples to other projects' in resp.json['error_message']['faultstring']
    assert len(_get(api, '/v2/samples', headers=hc.ADMIN).json) == before


@pytest.mark.parametrize('roles', ['superadmin', 'admin_reader', 'Admin_', ' admin', 'admin ',
                                   'administrator', 'member', '', 'reader,superadmin'])
def test_roles_that_merely_look_like_admin_are_not_admin(api, roles):
    headers = dict(MEMBER_A, **{'X-Roles': roles})
    for path in LISTS:
        _no_b(_get(api, path, headers=headers).json)
    _get(api, '/v2/samples', q('project', B), headers=headers, status=401)


def test_admin_among_several_roles_is_admin(api):
    headers = dict(MEMBER_A, **{'X-Roles': 'member,admin'})
    assert B in json.dumps(_get(api, '/v2/samples', headers=headers).json)


def test_non_admin_without_a_project_sees_nothing(api):
    for path in LISTS:
        resp = api.get(path, headers={'X-User-Id': 'u', 'X-Roles': 'member'}, status='*')
        assert resp.status_int in (401, 403)


SPOOFED = {'X-Project-Id': B, 'X-Tenant-Id': B, 'X-Project-Name': B, 'X-Roles': 'admin',
           'X-Role': 'admin', 'X-User-Id': 'admin', 'X-Identity-Status': 'Confirmed',
           'X-Is-Admin-Project': 'True', 'X-Service-Roles': 'admin'}


def test_token_mode_ignores_client_sent_identity_headers(api, make_app, tmp_path):
    token = uuid.uuid4().hex
    (tmp_path / 'tokens.json').write_text(json.dumps(
        {token: {'user_id': 'user-a', 'project_id': A, 'roles': ['member']}}))
    app = make_app(auth_strategy='token', api={'token_file': str(tmp_path / 'tokens.json')})
    headers = dict(SPOOFED, **{'X-Auth-Token': token})
    for path in LISTS:
        _no_b(_get(app, path, headers=headers).json)
    _get(app, '/v2/samples', q('project', B), headers=headers, status=401)


@pytest.fixture
def keystone():
    fix = ks_fixture.AuthTokenFixture()
    fix.setUp()
    yield fix
    fix.cleanUp()


def test_keystone_mode_ignores_client_sent_identity_headers(api, make_app, keystone):
    app = make_app(auth_strategy='keystone', keystone_authtoken={
        'www_authenticate_uri': 'https://keystone.example.com/v3'})
    token = uuid.uuid4().hex
    keystone.add_token_data(token_id=token, user_id='user-a', project_id=A,
                            role_list=['member'])
    headers = dict(SPOOFED, **{'X-Auth-Token': token})
    for path in LISTS:
        _no_b(_get(app, path, headers=headers).json)
    _get(app, '/v2/samples', q('project', B), headers=headers, status=401)
