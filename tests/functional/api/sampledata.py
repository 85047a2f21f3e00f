"""Posting samples through the API, for the metering API tests."""

from tests.conftest import ADMIN


def sample(name='cpu', resource='r1', volume=1.0, **extra):
    body = {'counter_name': name, 'counter_type': 'gauge', 'counter_unit': '%',
            'counter_volume': volume, 'resource_id': resource}
    body.update(extra)
    return body


def post(app, *samples, name=None, headers=ADMIN, status=201):
    """POST ``samples`` to /v2/meters/<name> (the first sample's name by default)."""
    name = name or samples[0]['counter_name']
    return app.post_json(f'/v2/meters/{name}', list(samples), headers=headers,
                         status=status)


def error(resp):
    """The faultstring of an error response."""
    assert resp.json['error_message']['faultcode'] == 'Client'
    return resp.json['error_message']['faultstring']
