"""Metadata keys MongoDB cannot store, made storable and restored on read (spec §12.5).

MongoDB refuses field names that start with ``$`` or contain NUL, and a
dotted name cannot be queried. On write every dotted key becomes nesting
(exactly as §9.4 step 4 stores it on SQL) and each key segment is escaped:
``%`` -> ``%25`` first (so escaping is reversible: a key that really starts
with ``%24`` survives), a leading ``$`` -> ``%24``, NUL -> ``%00``. Reads
undo the escaping; queries and ``groupby`` address the escaped form.
"""

import re

_UNESCAPE_RE = re.compile('%(25|24|00)')
_UNESCAPED = {'25': '%', '24': '$', '00': '\x00'}


def escape_key(key):
    """One key segment (no dots) -> its stored form."""
    key = key.replace('%', '%25').replace('\x00', '%00')
    if key.startswith('$'):
        key = '%24' + key[1:]
    return key


def unescape_key(key):
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPED[m.group(1)], key)


def escape_path(path):
    """A dotted metadata path (dots = nesting) -> the stored path."""
    return '.'.join(escape_key(seg) for seg in path.split('.'))


def _merge(target, key, value):
    if isinstance(value, dict):
        existing = target.get(key)
        if not isinstance(existing, dict):
            # A nested object replaces a plain value of the same name (§9.4 step 4).
            existing = target[key] = {}
        for sub_key, sub_value in value.items():
            _merge(existing, sub_key, sub_value)
    elif key in target and isinstance(target[key], dict) and target[key]:
        return  # the nested object wins whatever the key order
    else:
        target[key] = value


def _nest(metadata):
    """Split every dotted key into nesting, recursively; values keep their types."""
    nested = {}
    for key, value in metadata.items():
        value = _escape_value(value)
        segments = str(key).split('.')
        for seg in reversed(segments[1:]):
            value = {seg: value}
        _merge(nested, segments[0], value)
    return nested


def _escape_value(value):
    if isinstance(value, dict):
        return _nest(value)
    if isinstance(value, (list, tuple)):
        return [_escape_value(v) for v in value]
    return value


def _escape_keys(value):
    if isinstance(value, dict):
        return {escape_key(k): _escape_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape_keys(v) for v in value]
    return value


def escape_metadata(metadata):
    """Metadata as the model holds it -> the document stored in MongoDB."""
    return _escape_keys(_nest(metadata or {}))


def unescape_metadata(value):
    """A stored metadata document (or any value inside one) -> the model's form."""
    if isinstance(value, dict):
        return {unescape_key(k): unescape_metadata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape_metadata(v) for v in value]
    return value
