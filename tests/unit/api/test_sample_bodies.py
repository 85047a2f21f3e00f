"""POST bodies: metadata nesting, signing and the samples built from a body."""

import hashlib
import hmac

from meterd.api import sample_bodies
from meterd import context
from meterd import signing
from tests.conftest import make_conf

MEMBER = context.RequestContext(user_id='mu', project_id='mp', roles=['member'])


def test_nest_metadata_splits_every_dot_and_merges():
    got = sample_bodies.nest_metadata({'a.b.c': 1, 'a.b.d': 2, 'x': {'y.z': 3}, 'p': 'plain',
                                      'p.q': 'nested wins', '$k:c': 'kept'})
    assert got == {'a': {'b': {'c': 1, 'd': 2}}, 'x': {'y': {'z': 3}},
                   'p': {'q': 'nested wins'}, '$k:c': 'kept'}


def test_signature_is_hmac_sha256_over_sorted_flattened_pairs():
    message = {'b': 2, 'a': {'y': 'v', 'x': 1}, 'message_signature': 'ignored'}
    expected = hmac.new(b'secret', b'a:x1a:yvb2', hashlib.sha256).hexdigest()
    assert signing.compute_signature(message, 'secret') == expected
    assert signing.compute_signature(message, '') == ''


def test_new_samples_builds_signed_samples(tmp_path):
    conf = make_conf(tmp_path)
    body = [{'counter_name': 'cpu', 'counter_type': 'gauge', 'counter_unit': '%',
             'counter_volume': '3', 'resource_id': 'r', 'resource_metadata': {'a.b': 1}}]
    (posted,) = sample_bodies.new_samples(body, 'cpu', MEMBER, conf, signer=lambda m: 'sig')
    s = posted.sample
    assert (s.project_id, s.user_id, s.source) == ('mp', 'mu', 'mp:openstack')
    assert s.counter_volume == 3.0 and s.resource_metadata == {'a': {'b': 1}}
    assert s.message_signature == 'sig'
