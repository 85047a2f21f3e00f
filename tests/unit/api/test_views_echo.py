"""The POST echo of metadata: posted keys verbatim, nested objects as flatten_metadata renders them."""

import itertools

import pytest

from meterd.api import views


def reference_echo(posted):
    """The definition: each nested object flattened on its own, merged in posted order."""
    echoed = {}
    for key, value in posted.items():
        if isinstance(value, dict):
            echoed.update(views.flatten_metadata({key: value}))
        else:
            echoed[key] = views.metadata_text(value)
    return echoed


KEYS = ('a', 'b', 'a.b', 'a:b', 'x:y.z', '.', ':', '', 'é')
VALUES = ('s', 1, 2.5, True, None, [1, 'x'], {}, {'n': 1}, {'c.d': {'e': 'f'}, 'c': 'g'})


@pytest.mark.parametrize('outer, inner', itertools.product(KEYS, KEYS))
def test_nested_keys_come_out_as_flatten_metadata_renders_them(outer, inner):
    for value in VALUES:
        posted = {'plain.key': 'kept', outer: {inner: value, 'z': 0}, 'last': 3}
        assert list(views._echo_metadata(posted).items()) == list(reference_echo(posted).items())


def test_a_flattened_key_equal_to_a_posted_one_keeps_the_first_place_and_the_last_value():
    posted = {'a.b': 'posted', 'x': 1, 'a': {'b': 'nested'}}
    assert list(views._echo_metadata(posted).items()) == [('a.b', 'nested'), ('x', '1')]
    assert views._echo_metadata(posted) == reference_echo(posted)


def test_the_benchmark_shape():
    posted = {'display_name': 'web-1', 'flavor': {'name': 'm1.small', 'vcpus': 1, 'ram': 2048},
              'state': 'active'}
    assert list(views._echo_metadata(posted).items()) == [
        ('display_name', 'web-1'), ('flavor.name', 'm1.small'), ('flavor.ram', '2048'),
        ('flavor.vcpus', '1'), ('state', 'active')]
