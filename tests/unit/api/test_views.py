"""The pre-encoded sample, meter and resource views give exactly the text of their dict views, encoded."""

import datetime

import pytest

from meterd.api import views
from meterd.api import wsgi
from meterd.storage import models


def _sample(**changes):
    fields = dict(
        source='p:openstack', counter_name='cpu_util', counter_type='gauge',
        counter_unit='%', counter_volume=52.5, user_id='u', project_id='p',
        resource_id='r-1', timestamp=datetime.datetime(2024, 3, 1, 12, 0, 5, 123),
        resource_metadata={'flavor': {'name': 'm1.small', 'ram': 2048}, 'on': True},
        message_id='m-1', message_signature='',
        recorded_at=datetime.datetime(2024, 3, 1, 12, 0, 6))
    fields.update(changes)
    return models.Sample(**fields)


SAMPLES = [
    _sample(),
    _sample(user_id=None, project_id=None, recorded_at=None, resource_metadata={}),
    _sample(counter_name='ré"\\\n\u2028', resource_id='a/b \x01', counter_volume=1e300),
    _sample(counter_volume=0, resource_metadata={'a.b': {'c': [1, 'x']}, 'n': None}),
    _sample(counter_volume=-0.0, timestamp=datetime.datetime(2024, 3, 1),
            resource_metadata={'k': 'ü ☃ \U0001f600'}),
]


@pytest.mark.parametrize('sample', SAMPLES)
def test_encoded_views_equal_their_dict_views_encoded(sample):
    assert views.old_sample_json(sample) == wsgi.dumps(views.old_sample(sample))
    assert views.sample_json(sample) == wsgi.dumps(views.sample(sample))


@pytest.mark.parametrize('volume', [float('nan'), float('inf'), float('-inf')])
def test_encoded_views_refuse_what_json_refuses(volume):
    with pytest.raises(ValueError):
        views.old_sample_json(_sample(counter_volume=volume))
    with pytest.raises(ValueError):
        views.sample_json(_sample(counter_volume=volume))


def test_an_encoded_list_renders_as_the_dict_list_does():
    plain, encoded = wsgi.webob.Response(), wsgi.webob.Response()
    wsgi.render(plain, (views.sample(s) for s in SAMPLES * 30))
    wsgi.render(encoded, wsgi.Encoded(views.sample_json(s) for s in SAMPLES * 30))
    assert b''.join(encoded.app_iter) == b''.join(plain.app_iter)


METERS = [
    models.Meter('cpu_util', 'gauge', '%', 'r-1', 'p', 'u', 'p:openstack'),
    models.Meter('ré"\\\n\u2028', 'delta', 'B/s', 'a/b \x01 ☃', None, None, None),
    # A unique meter (?unique=True) has no resource or owner.
    models.Meter('disk.read.bytes', 'cumulative', 'B', None, None, None, None),
]


@pytest.mark.parametrize('meter', METERS)
def test_the_encoded_meter_view_equals_its_dict_view_encoded(meter):
    assert views.meter_json(meter) == wsgi.dumps(views.meter(meter))


RESOURCES = [
    models.Resource('r-1', 'p', 'u', 'p:openstack', datetime.datetime(2024, 3, 1, 12, 0, 5, 123),
                    datetime.datetime(2024, 3, 2), {'flavor': {'name': 'm1.small', 'ram': 2048},
                                                    'state': 'active', 'a.b': 1.5}),
    models.Resource('a/b é"\\\u2028', None, None, None, None, None, {}),
]


@pytest.mark.parametrize('resource', RESOURCES)
@pytest.mark.parametrize('names', [None, [], ['cpu_util', 'disk.read.bytes', 'ré"']])
def test_the_encoded_resource_view_equals_its_dict_view_encoded(resource, names):
    url = 'http://meterd.example:8777'
    assert (views.resource_json(resource, url, names)
            == wsgi.dumps(views.resource(resource, url, names)))
