"""Storage models -> v2 JSON dicts: the only module that knows wire field names."""

_DESCRIBED_BY = {'href': 'http://docs.openstack.org/', 'rel': 'describedby',
                 'type': 'text/html'}
_MEDIA_TYPES = [
    {'base': 'application/json', 'type': 'application/vnd.openstack.telemetry-v2+json'},
    {'base': 'application/xml', 'type': 'application/vnd.openstack.telemetry-v2+xml'},
]


def version(application_url):
    """The v2 version descriptor of §9.1."""
    return {
        'id': 'v2',
        'status': 'stable',
        'updated': '2013-02-13T00:00:00Z',
        'links': [{'href': application_url + '/v2', 'rel': 'self'}, dict(_DESCRIBED_BY)],
        'media-types': [dict(m) for m in _MEDIA_TYPES],
    }
