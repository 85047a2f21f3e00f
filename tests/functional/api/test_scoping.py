"""Project scoping of every metering path for non-admins (§4.4), and admin visibility."""

import pytest

from tests.conftest import ADMIN, member_headers
from tests.functional.api.sampledata import error, post, sample

MEMBER_A = member_headers('pa', 'ua')
MEMBER_B = member_headers('pb', 'ub')
LIST_PATHS = ('/v2/meters', '/v2/meters/cpu', '/v2/samples', '/v2/resources')


@pytest.fixture
def seeded(app):
    post(app, sample(resource='ra', resource_metadata={'k': 'v'}), headers=MEMBER_A)
    post(app, sample(resource='rb', resource_metadata={'k': 'v'}), headers=MEMBER_B)
    # A resource shared by both projects: each sees only its own samples of it.
    post(app, sample(resource='shared', volume=1, timestamp='2020-01-01T10:00:00'),
         headers=MEMBER_A)
    post(app, sample(resource='shared', volume=2, timestamp='2020-01-01T11:00:00'),
         headers=MEMBER_B)
    return app


def resource_ids(app, path, headers, **params):
    return sorted({item['resource_id'] for item in
                   app.get(path, params=params, headers=headers).json})


@pytest.mark.parametrize('path', LIST_PATHS)
def test_non_admin_lists_only_its_project(seeded, path):
    # A meter is described by its most recently stored sample (§9.2): pb's on 'shared'.
    expected_a = ['ra'] if path == '/v2/meters' else ['ra', 'shared']
    assert resource_ids(seeded, path, MEMBER_A) == expected_a
    assert resource_ids(seeded, path, MEMBER_B) == ['rb', 'shared']
    assert resource_ids(seeded, path, ADMIN) == ['ra', 'rb', 'shared']


@pytest.mark.parametrize('path', LIST_PATHS)
def test_non_admin_scope_holds_with_metadata_and_time_terms(seeded, path):
    params = {'q.field': 'metadata.k', 'q.value': 'v'}
    assert resource_ids(seeded, path, MEMBER_A, **params) == ['ra']


def test_shared_resource_describes_each_project_from_its_own_samples(seeded):
    (res,) = [r for r in seeded.get('/v2/resources', headers=MEMBER_A).json
              if r['resource_id'] == 'shared']
    assert (res['project_id'], res['last_sample_timestamp']) == ('pa', '2020-01-01T10:00:00')
    res = seeded.get('/v2/resources/shared', headers=MEMBER_A).json
    assert (res['project_id'], res['user_id']) == ('pa', 'ua')
    res = seeded.get('/v2/resources/shared', headers=ADMIN).json
    assert (res['project_id'], res['first_sample_timestamp']) == ('pb', '2020-01-01T10:00:00')


@pytest.mark.parametrize('path', LIST_PATHS)
@pytest.mark.parametrize('field', ['project', 'project_id'])
@pytest.mark.parametrize('op', ['eq', 'ne', 'gt', 'bogus'])
def test_asking_for_another_project_is_401(seeded, path, field, op):
    resp = seeded.get(path, params={'q.field': field, 'q.op': op, 'q.value': 'pb'},
                      headers=MEMBER_A, status=401)
    assert resp.json['error_message'] == {
        'faultcode': 'Client', 'faultstring': 'Not Authorized to access project pb',
        'debuginfo': None}


@pytest.mark.parametrize('path', LIST_PATHS)
def test_segregation_is_checked_before_other_q_validation(seeded, path):
    query = ('q.field=bogus&q.op=zz&q.value=1&q.field=timestamp&q.op=eq&q.value=x'
             '&q.field=project&q.op=eq&q.value=pa&q.field=project_id&q.op=eq&q.value=pb')
    resp = seeded.get(f'{path}?{query}', headers=MEMBER_A, status=401)
    assert error(resp) == 'Not Authorized to access project pb'


def test_own_project_term_is_accepted(seeded):
    got = seeded.get('/v2/samples', params={'q.field': 'project_id', 'q.value': 'pa'},
                     headers=MEMBER_A).json
    assert {s['project_id'] for s in got} == {'pa'}


def test_admin_may_filter_any_project(seeded):
    got = seeded.get('/v2/samples', params={'q.field': 'project', 'q.value': 'pb'},
                     headers=ADMIN).json
    assert {s['project_id'] for s in got} == {'pb'}


def test_sample_of_another_project_is_404(seeded):
    theirs = seeded.get('/v2/samples', headers=MEMBER_B).json[0]['id']
    resp = seeded.get(f'/v2/samples/{theirs}', headers=MEMBER_A, status=404)
    assert error(resp) == f'Sample {theirs} Not Found'
    assert seeded.get(f'/v2/samples/{theirs}', headers=MEMBER_B).json['id'] == theirs
    assert seeded.get(f'/v2/samples/{theirs}', headers=ADMIN).json['id'] == theirs


def test_resource_of_another_project_is_404(seeded):
    resp = seeded.get('/v2/resources/rb', headers=MEMBER_A, status=404)
    assert error(resp) == 'Resource rb Not Found'
    assert seeded.get('/v2/resources/rb', headers=MEMBER_B).json['resource_id'] == 'rb'


def test_posting_for_another_project_is_400_and_stores_nothing(seeded):
    before = len(seeded.get('/v2/samples', headers=ADMIN).json)
    resp = post(seeded, sample(resource='x', project_id='pb'), headers=MEMBER_A, status=400)
    assert 'can not post samples to other projects' in error(resp)
    assert len(seeded.get('/v2/samples', headers=ADMIN).json) == before


def test_non_admin_without_project_is_refused_everywhere(seeded):
    headers = {'X-User-Id': 'u', 'X-Roles': 'member'}
    for path in LIST_PATHS + ('/v2/resources/ra',):
        resp = seeded.get(path, headers=headers, status=401)
        assert resp.json['error_message']['faultstring']
    post(seeded, sample(), headers=headers, status=401)


def test_admin_role_among_others_is_admin_and_spaced_admin_is_not(seeded):
    mixed = {'X-User-Id': 'u', 'X-Project-Id': 'pa', 'X-Roles': 'Member,admin'}
    assert resource_ids(seeded, '/v2/samples', mixed) == ['ra', 'rb', 'shared']
    spaced = {'X-User-Id': 'u', 'X-Project-Id': 'pa', 'X-Roles': 'Member, admin'}
    assert resource_ids(seeded, '/v2/samples', spaced) == ['ra', 'shared']


def test_unique_meters_are_scoped(seeded):
    got = seeded.get('/v2/meters?unique=True', headers=MEMBER_A).json
    # cpu's most recently stored sample belongs to pb, so pa sees no entry (§9.2).
    assert got == []
    post(seeded, sample(resource='ra'), headers=MEMBER_A)
    got = seeded.get('/v2/meters?unique=True', headers=MEMBER_A).json
    assert [m['name'] for m in got] == ['cpu']
