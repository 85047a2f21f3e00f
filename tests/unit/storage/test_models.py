"""models.Sample: its written-out __init__ stays the dataclass it declares."""

import dataclasses
import datetime
import inspect

import pytest

from meterd.storage import models


def sample(**changes):
    values = dict(source='p:openstack', counter_name='cpu', counter_type='gauge',
                  counter_unit='%', counter_volume=1.5, user_id='u', project_id='p',
                  resource_id='r', timestamp=datetime.datetime(2024, 3, 1),
                  resource_metadata={'a': {'b': 1}}, message_id='m')
    values.update(changes)
    return models.Sample(**values)


def test_init_takes_the_fields_in_order_with_their_defaults():
    params = inspect.signature(models.Sample).parameters
    fields = dataclasses.fields(models.Sample)
    assert list(params) == [f.name for f in fields]
    for f in fields:
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert params[f.name].default == expected


def test_every_field_is_set_and_defaults_apply():
    s = sample()
    assert (s.message_signature, s.recorded_at) == ('', None)
    assert dataclasses.asdict(s)['resource_metadata'] == {'a': {'b': 1}}
    assert models.Sample(*dataclasses.astuple(s)) == s
    assert sample(message_signature='sig').message_signature == 'sig'


def test_samples_stay_frozen_and_replaceable():
    s = sample()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.counter_volume = 2.0
    assert dataclasses.replace(s, counter_volume=2.0).counter_volume == 2.0
    assert s != dataclasses.replace(s, message_id='other')
    assert repr(s).startswith("Sample(source='p:openstack', counter_name='cpu'")
