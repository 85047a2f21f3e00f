"""Storage models -> v2 JSON dicts: the only module that knows wire field names."""

import base64
import json

from meterd.api import wsgi
from meterd import timestamps

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


# -- metadata ----------------------------------------------------------------


def _flatten_into(out, node, prefix):
    """``node``'s leaves into ``out`` under ``prefix``, a path in its final form.

    §12.6: every separator, and every dot inside a key, is ':' except the
    path's first separator, which is '.' (see ``_subtree_prefix``).
    """
    for key in sorted(node):
        value = node[key]
        path = prefix + key.replace('.', ':')
        if isinstance(value, dict):
            _flatten_into(out, value, path + ':')
        elif isinstance(value, str):
            out[path] = value
        elif not isinstance(value, (set, frozenset)):
            out[path] = str(value)


def _subtree_prefix(key):
    """The final-form path prefix of the leaves under the top-level ``key``: its
    first ':' (a dot of the key's own, or the separator after it) is the '.'."""
    path = key.replace('.', ':')
    return path.replace(':', '.', 1) + ':' if ':' in path else path + '.'


def metadata_text(value):
    """A metadata value as Python prints it: strings unchanged, True/None/0.47/['x']."""
    return value if isinstance(value, str) else str(value)


def flatten_metadata(metadata):
    """The §12.6 read form of stored (nested) metadata: a flat map of strings."""
    out = {}
    for key in sorted(metadata or ()):
        value = metadata[key]
        if isinstance(value, dict):
            _flatten_into(out, value, _subtree_prefix(key))
        elif isinstance(value, str):
            out[key.replace('.', ':').replace(':', '.', 1)] = value
        elif not isinstance(value, (set, frozenset)):
            out[key.replace('.', ':').replace(':', '.', 1)] = str(value)
    return out


#: (metadata dict, its flattened form) of the last item rendered. The SQL
#: reads hand one dict to every row of a page with the same stored metadata
#: (a resource's samples mostly share it), so a page flattens it once. The
#: reference keeps the dict alive, so identity cannot be reused by another.
_LAST_FLAT = (None, {})


def _flat(metadata):
    global _LAST_FLAT
    last, flat = _LAST_FLAT
    if metadata is not last:
        flat = flatten_metadata(metadata)
        _LAST_FLAT = (metadata, flat)
    return dict(flat)


#: (metadata dict, its flattened form as JSON text), as _LAST_FLAT.
_LAST_FLAT_JSON = (None, '{}')


def _flat_json(metadata):
    global _LAST_FLAT_JSON
    last, text = _LAST_FLAT_JSON
    if metadata is not last:
        text = wsgi.dumps(flatten_metadata(metadata))
        _LAST_FLAT_JSON = (metadata, text)
    return text


def _echo_metadata(posted):
    """The POST echo: posted keys verbatim, nested objects flattened (§9.4).

    A nested object comes out as ``flatten_metadata({key: value})`` would
    render it, written straight into the echo.
    """
    echoed = {}
    for key in posted:
        value = posted[key]
        if isinstance(value, dict):
            _flatten_into(echoed, value, _subtree_prefix(key))
        elif isinstance(value, str):
            echoed[key] = value
        else:
            echoed[key] = str(value)
    return echoed


# -- samples -----------------------------------------------------------------


def sample(s):
    """The Sample of /v2/samples (§9.6): exactly twelve keys."""
    return {
        'id': s.message_id,
        'meter': s.counter_name,
        'type': s.counter_type,
        'unit': s.counter_unit,
        'volume': float(s.counter_volume),
        'user_id': s.user_id,
        'project_id': s.project_id,
        'resource_id': s.resource_id,
        'source': s.source,
        'timestamp': timestamps.isoformat(s.timestamp),
        'recorded_at': timestamps.isoformat(s.recorded_at),
        'metadata': _flat(s.resource_metadata),
    }


def _old_sample(s, timestamp, resource_metadata):
    """OldSample fields shared by reads and the POST echo."""
    return {
        'counter_name': s.counter_name,
        'counter_type': s.counter_type,
        'counter_unit': s.counter_unit,
        'counter_volume': float(s.counter_volume),
        'resource_id': s.resource_id,
        'project_id': s.project_id,
        'user_id': s.user_id,
        'source': s.source,
        'timestamp': timestamp,
        'resource_metadata': resource_metadata,
        'message_id': s.message_id,
    }


def old_sample(s):
    """The OldSample of GET /v2/meters/{name} (§9.3): exactly twelve keys."""
    view = _old_sample(s, timestamps.isoformat(s.timestamp), _flat(s.resource_metadata))
    view['recorded_at'] = timestamps.isoformat(s.recorded_at)
    return view


# Samples of a listing are encoded here, straight from the model, into the
# text wsgi.dumps would give for the view above: the page's shared fields and
# its metadata are encoded once, and no dict is built per sample.

_encode_str = json.encoder.encode_basestring  # ensure_ascii=False, as wsgi.dumps


def _js(value):
    """A string (or None) as wsgi.dumps encodes it."""
    if type(value) is str:
        return _encode_str(value)
    return 'null' if value is None else wsgi.dumps(value)


def _jf(value):
    """A volume as wsgi.dumps encodes it; NaN and Infinity still raise ValueError."""
    value = float(value)
    return repr(value) if value - value == 0 else wsgi.dumps(value)


def _jt(value):
    """A naive UTC timestamp (or None) as the views render it, encoded."""
    if value is None:
        return 'null'
    if value.tzinfo is None:  # what timestamps.isoformat does first, inline
        return '"' + value.isoformat() + '"'
    return '"' + timestamps.isoformat(value) + '"'


#: Encoded runs of fields a page's samples mostly share, by their values.
_RUNS = {}
_RUNS_SIZE = 1024


def _run(template, values):
    """``template`` filled with ``values`` encoded; remembered per values."""
    key = (template, values)
    text = _RUNS.get(key)
    if text is None:
        if len(_RUNS) >= _RUNS_SIZE:
            _RUNS.clear()
        text = _RUNS[key] = template.format(*[_js(v) for v in values])
    return text


_SAMPLE_METER = '"meter": {}, "type": {}, "unit": {}'
_SAMPLE_OWNER = '"user_id": {}, "project_id": {}, "resource_id": {}, "source": {}'


def sample_json(s):
    """``sample(s)`` as JSON text, byte for byte what rendering ``sample(s)`` gives."""
    return (f'{{"id": {_js(s.message_id)}, '
            f'{_run(_SAMPLE_METER, (s.counter_name, s.counter_type, s.counter_unit))}, '
            f'"volume": {_jf(s.counter_volume)}, '
            f'{_run(_SAMPLE_OWNER, (s.user_id, s.project_id, s.resource_id, s.source))}, '
            f'"timestamp": {_jt(s.timestamp)}, "recorded_at": {_jt(s.recorded_at)}, '
            f'"metadata": {_flat_json(s.resource_metadata)}}}')


_OLD_METER = '{{"counter_name": {}, "counter_type": {}, "counter_unit": {}'
_OLD_OWNER = '"resource_id": {}, "project_id": {}, "user_id": {}, "source": {}'


def old_sample_json(s):
    """``old_sample(s)`` as JSON text, byte for byte what rendering ``old_sample(s)`` gives."""
    return (f'{_run(_OLD_METER, (s.counter_name, s.counter_type, s.counter_unit))}, '
            f'"counter_volume": {_jf(s.counter_volume)}, '
            f'{_run(_OLD_OWNER, (s.resource_id, s.project_id, s.user_id, s.source))}, '
            f'"timestamp": {_jt(s.timestamp)}, '
            f'"resource_metadata": {_flat_json(s.resource_metadata)}, '
            f'"message_id": {_js(s.message_id)}, "recorded_at": {_jt(s.recorded_at)}}}')


def posted_sample(p):
    """The POST answer for one accepted sample: OldSample without recorded_at (§9.4)."""
    return _old_sample(p.sample, p.timestamp_text,
                       _echo_metadata(p.posted.get('resource_metadata') or {}))


# -- meters and resources ----------------------------------------------------


def meter_id(resource_id, name):
    """base64 of ``<resource_id>+<name>`` (``None+<name>`` for unique meters)."""
    return base64.b64encode(f'{resource_id}+{name}'.encode('utf-8')).decode('ascii')


def meter(m):
    """One /v2/meters entry (§9.2)."""
    return {
        'name': m.name,
        'type': m.type,
        'unit': m.unit,
        'resource_id': m.resource_id,
        'project_id': m.project_id,
        'user_id': m.user_id,
        'source': m.source,
        'meter_id': meter_id(m.resource_id, m.name),
    }


_METER_KIND = '{{"name": {}, "type": {}, "unit": {}'
_METER_OWNER = '"resource_id": {}, "project_id": {}, "user_id": {}, "source": {}'


def meter_json(m):
    """``meter(m)`` as JSON text, byte for byte what rendering ``meter(m)`` gives."""
    return (f'{_run(_METER_KIND, (m.name, m.type, m.unit))}, '
            f'{_run(_METER_OWNER, (m.resource_id, m.project_id, m.user_id, m.source))}, '
            f'"meter_id": "{meter_id(m.resource_id, m.name)}"}}')


_RESOURCE_OWNER = '"project_id": {}, "user_id": {}, "source": {}'


def resource_json(r, application_url, meter_names=None):
    """``resource(r, ...)`` as JSON text, byte for byte what rendering it gives."""
    rid = r.resource_id
    links = [f'{{"href": {_js(f"{application_url}/v2/resources/{rid}")}, "rel": "self"}}']
    for name in meter_names or ():
        href = f'{application_url}/v2/meters/{name}?q.field=resource_id&q.value={rid}'
        links.append(f'{{"href": {_js(href)}, "rel": {_js(name)}}}')
    return (f'{{"resource_id": {_js(rid)}, '
            f'{_run(_RESOURCE_OWNER, (r.project_id, r.user_id, r.source))}, '
            f'"first_sample_timestamp": {_jt(r.first_sample_timestamp)}, '
            f'"last_sample_timestamp": {_jt(r.last_sample_timestamp)}, '
            f'"metadata": {_flat_json(r.metadata)}, "links": [{", ".join(links)}]}}')


def resource(r, application_url, meter_names=None):
    """One Resource (§9.7): self link first, then one link per meter name given."""
    links = [{'href': f'{application_url}/v2/resources/{r.resource_id}', 'rel': 'self'}]
    for name in meter_names or ():
        links.append({
            'href': f'{application_url}/v2/meters/{name}?q.field=resource_id'
                    f'&q.value={r.resource_id}',
            'rel': name})
    return {
        'resource_id': r.resource_id,
        'project_id': r.project_id,
        'user_id': r.user_id,
        'source': r.source,
        'first_sample_timestamp': timestamps.isoformat(r.first_sample_timestamp),
        'last_sample_timestamp': timestamps.isoformat(r.last_sample_timestamp),
        'metadata': flatten_metadata(r.metadata),
        'links': links,
    }


# -- statistics --------------------------------------------------------------


def statistics(s):
    """One Statistics entry (§9.5): standard fields only when computed, groupby always.

    Drivers hand counts as int and values as float, timestamps as integer
    microseconds; the duration is their difference in seconds, which is
    exactly timedelta.total_seconds() (one correctly rounded division).
    """
    (unit, period, period_start, period_end, first, last, groupby,
     count, min_, max_, sum_, avg, aggregate) = s
    isoformat = timestamps.isoformat_micros
    body = {
        'unit': unit,
        'groupby': groupby,
        'period': period,
        'period_start': isoformat(period_start),
        'period_end': isoformat(period_end),
        'duration': None if first is None or last is None else (last - first) / 1_000_000,
        'duration_start': isoformat(first),
        'duration_end': isoformat(last),
    }
    for key, value in (('count', count), ('min', min_), ('max', max_), ('sum', sum_),
                       ('avg', avg), ('aggregate', aggregate)):
        if value is not None:
            body[key] = value
    return body
