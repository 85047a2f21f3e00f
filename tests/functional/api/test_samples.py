"""GET /v2/samples and GET /v2/samples/{id} through the shipped pipeline (§9.6)."""

import pytest

from tests.conftest import ADMIN
from tests.functional.api.sampledata import error, post, sample

SAMPLE_KEYS = {'id', 'meter', 'type', 'unit', 'volume', 'user_id', 'project_id',
               'resource_id', 'source', 'timestamp', 'recorded_at', 'metadata'}


def samples(app, headers=ADMIN, **params):
    return app.get('/v2/samples', params=params, headers=headers).json


def q(*terms, **extra):
    """Query-string pairs for (field, op, value[, type]) terms, all four sent per item."""
    pairs = []
    for term in terms:
        field, op, value, kind = (term + ('',))[:4]
        pairs += [('q.field', field), ('q.op', op), ('q.value', value), ('q.type', kind)]
    return pairs + list(extra.items())


def get(app, params, headers=ADMIN, status=200):
    return app.get('/v2/samples', params=params, headers=headers, status=status)


@pytest.fixture
def seeded(app):
    post(app, sample(name='cpu', resource='r1', volume=1, timestamp='2020-01-01T10:00:00',
                     project_id='p1', user_id='u1', resource_metadata={'flavor': {'ram': 512}}))
    post(app, sample(name='cpu', resource='r2', volume=2, timestamp='2020-01-01T11:00:00',
                     project_id='p2', user_id='u2', source='other'))
    post(app, sample(name='disk.read.bytes', resource='r1', volume=3,
                     timestamp='2020-01-01T12:00:00', project_id='p1', user_id='u1'))
    return app


def test_empty_store(app):
    assert samples(app) == []


def test_samples_have_twelve_keys_newest_first(seeded):
    got = samples(seeded)
    assert [s['volume'] for s in got] == [3.0, 2.0, 1.0]
    assert all(set(s) == SAMPLE_KEYS for s in got)
    oldest = got[-1]
    assert oldest['meter'] == 'cpu' and oldest['type'] == 'gauge' and oldest['unit'] == '%'
    assert oldest['metadata'] == {'flavor.ram': '512'}
    assert oldest['source'] == 'p1:openstack'
    assert oldest['timestamp'] == '2020-01-01T10:00:00'


@pytest.mark.parametrize('term,volumes', [
    (('meter', 'eq', 'cpu'), [2.0, 1.0]),
    (('resource', 'eq', 'r1'), [3.0, 1.0]),
    (('resource_id', '', 'r2'), [2.0]),
    (('project', 'eq', 'p2'), [2.0]),
    (('project_id', 'eq', 'p1'), [3.0, 1.0]),
    (('user', 'eq', 'u1'), [3.0, 1.0]),
    (('user_id', 'eq', 'u2'), [2.0]),
    (('source', 'eq', 'p2:other'), [2.0]),
    (('source', 'eq', 'other'), []),
    (('metadata.flavor.ram', 'eq', '512'), [1.0]),
    (('resource_metadata.flavor.ram', 'eq', '512', 'integer'), [1.0]),
    (('metadata.flavor.ram', 'eq', '512', 'string'), []),
    (('timestamp', 'gt', '2020-01-01T10:00:00'), [3.0, 2.0]),
    (('timestamp', 'ge', '2020-01-01T10:00:00'), [3.0, 2.0, 1.0]),
    (('timestamp', 'lt', '2020-01-01T12:00:00'), [2.0, 1.0]),
    (('timestamp', 'le', '2020-01-01T12:00:00'), [3.0, 2.0, 1.0]),
    (('timestamp', 'ge', '2020-01-01T12:00:00+01:00'), [3.0, 2.0]),
])
def test_each_filter(seeded, term, volumes):
    assert [s['volume'] for s in get(seeded, q(term)).json] == volumes


def test_message_id_filter(seeded):
    target = samples(seeded)[1]
    got = get(seeded, q(('message_id', 'eq', target['id']))).json
    assert got == [target]


def test_terms_are_anded_and_last_duplicate_wins(seeded):
    got = get(seeded, q(('meter', 'eq', 'cpu'), ('resource', 'eq', 'r1'))).json
    assert [s['volume'] for s in got] == [1.0]
    got = get(seeded, q(('resource', 'eq', 'r1'), ('resource', 'eq', 'r2'))).json
    assert [s['volume'] for s in got] == [2.0]


def test_search_offset_widens_the_window(seeded):
    got = get(seeded, q(('timestamp', 'gt', '2020-01-01T10:30:00'),
                        ('timestamp', 'lt', '2020-01-01T11:30:00'),
                        ('search_offset', 'eq', '31'))).json
    assert [s['volume'] for s in got] == [3.0, 2.0, 1.0]


def test_limit(seeded):
    assert [s['volume'] for s in get(seeded, {'limit': 2}).json] == [3.0, 2.0]


def test_show_returns_the_sample_and_404_otherwise(seeded):
    target = samples(seeded)[0]
    assert seeded.get(f'/v2/samples/{target["id"]}', headers=ADMIN).json == target
    assert seeded.get(f'/v2/samples/{target["id"]}/', headers=ADMIN).json == target
    resp = seeded.get('/v2/samples/nope', headers=ADMIN, status=404)
    assert error(resp) == 'Sample nope Not Found'


def test_show_takes_no_parameters(seeded):
    target = samples(seeded)[0]
    resp = seeded.get(f'/v2/samples/{target["id"]}?limit=5', headers=ADMIN, status=400)
    assert error(resp) == 'Unknown argument: "limit"'


def test_wrong_methods(app):
    assert app.post('/v2/samples', headers=ADMIN, status=405).headers['Allow'] == 'GET'
    app.put('/v2/samples', headers=ADMIN, status=405)
    app.delete('/v2/samples/x', headers=ADMIN, status=405)
