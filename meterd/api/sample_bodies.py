"""Bodies of POST /v2/meters/{meter_name} -> validated samples to store (spec §9.4).

Validation order and texts are the reference's; metadata is accepted typed
(a meterd relaxation), nested at every dot of a key, and bounded in size.
Nothing here touches storage: a body either binds whole or is a 400.
"""

import datetime
import json
import math
import random
import re
import threading
import time
import typing
import uuid

from meterd import exception
from meterd.storage import models
from meterd import timestamps

SAMPLE_TYPES = ('gauge', 'delta', 'cumulative')
_MANDATORY = ('counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id')
_SAMPLE_ATTRS = frozenset(_MANDATORY + ('project_id', 'user_id', 'source', 'timestamp',
                                        'resource_metadata', 'message_id', 'recorded_at',
                                        'message_signature'))
_TEXT_ATTRS = ('counter_name', 'counter_type', 'counter_unit', 'resource_id', 'project_id',
               'user_id', 'source', 'message_id')
_TEXT_ATTR_SET = frozenset(_TEXT_ATTRS)
_MANDATORY_SET = frozenset(_MANDATORY)
#: How _bind_sample binds each attribute: 0 text, then volume, timestamp,
#: metadata, and as posted (recorded_at, message_signature: ignored later).
_TEXT, _VOLUME, _TIMESTAMP, _METADATA, _AS_POSTED = range(5)
_KINDS = dict.fromkeys(_SAMPLE_ATTRS, _AS_POSTED)
_KINDS.update(dict.fromkeys(_TEXT_ATTRS, _TEXT), counter_volume=_VOLUME,
              timestamp=_TIMESTAMP, resource_metadata=_METADATA)
#: JSON escapes of NUL or of a surrogate, in a raw body.
_SUSPECT_ESCAPE = re.compile(rb'\\u(?:0000|[dD][89a-fA-F])')
#: message_id: uuid1 with a fixed node and a random clock sequence (which
#: separates worker processes), rendered here a batch at a time: uuid.uuid1
#: costs a time read, a UUID object and its str() per sample.
_NODE = uuid.getnode()
_CLOCK_SEQ = random.getrandbits(14)
_UUID1_TAIL = f'-{(_CLOCK_SEQ >> 8) & 0x3f | 0x80:02x}{_CLOCK_SEQ & 0xff:02x}-{_NODE:012x}'
#: 100 ns intervals between the Gregorian reform (uuid1's epoch) and 1970.
_UUID_EPOCH_OFFSET = 0x01b21dd213814000
_last_uuid_time = 0
_uuid_lock = threading.Lock()


def message_ids(count):
    """``count`` distinct version-1 UUID strings, as uuid.uuid1(_NODE, _CLOCK_SEQ) makes them.

    Their 60-bit times are consecutive and above every earlier one of this
    process, so ids never repeat even when the clock stands still or steps back.
    """
    global _last_uuid_time
    with _uuid_lock:
        first = max(time.time_ns() // 100 + _UUID_EPOCH_OFFSET, _last_uuid_time + 1)
        _last_uuid_time = first + count - 1
    ids = []
    for stamp in range(first, first + count):
        hexed = f'{stamp:015x}'
        ids.append(f'{hexed[7:]}-{hexed[3:7]}-1{hexed[:3]}{_UUID1_TAIL}')
    return ids
_NUMERIC_RE = re.compile(r'\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*\Z')


class PostedSample(typing.NamedTuple):
    """A validated sample to store, with what the POST answer echoes (§9.4).

    ``posted`` holds the attributes the client sent (bound to their types),
    ``timestamp_text`` the echoed timestamp (the posted instant re-rendered
    with its offset, or the generated naive UTC time). A tuple: one is made
    per posted sample.
    """

    sample: models.Sample
    posted: dict
    timestamp_text: str


def _binding_error(value, reason):
    text = value if isinstance(value, str) else json.dumps(value, default=str)[:200]
    return exception.InvalidFieldValue('samples', text, reason)


def _check_text(attr, value):
    """Strings must survive every backend unchanged: no NUL, no lone surrogates."""
    if '\x00' in value:
        raise exception.InvalidFieldValue(attr, value.replace('\x00', '\\x00'),
                                          'NUL characters are not allowed')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise exception.InvalidFieldValue(attr, value.encode('utf-8', 'backslashreplace')
                                          .decode('ascii'), 'invalid Unicode text')


def _scan_metadata(node, texts, depth, stats):
    """One walk of posted metadata: the binding checks, and the facts _check_sizes bounds.

    Raises the binding errors (NUL, lone surrogate, non-finite number, nested
    too deeply) where the reference raised them; only records into ``stats``
    [items, deepest container (1 = resource_metadata), longest key, any dotted
    key] so the [api] bounds are still checked after every sample bound.
    """
    if depth > 64:
        raise _binding_error('resource_metadata', 'metadata nested too deeply')
    stats[0] += len(node)
    if depth + 1 > stats[1]:
        stats[1] = depth + 1
    is_dict = isinstance(node, dict)
    for key, value in (node.items() if is_dict else ((None, v) for v in node)):
        if is_dict:
            if texts:
                _check_text('resource_metadata', key)
            if len(key) > stats[2]:
                stats[2] = len(key)
            if '.' in key:
                stats[3] = True
        if isinstance(value, str):
            if depth >= 64:
                raise _binding_error('resource_metadata', 'metadata nested too deeply')
            if texts:
                _check_text('resource_metadata', value)
        elif isinstance(value, (dict, list)):
            _scan_metadata(value, texts, depth + 1, stats)
        elif depth >= 64:
            raise _binding_error('resource_metadata', 'metadata nested too deeply')
        elif isinstance(value, float) and not math.isfinite(value):
            raise _binding_error(str(value), 'metadata numbers must be finite')


def _bind_volume(value):
    if value.__class__ is float:
        if math.isfinite(value):
            return value
        raise _binding_error(str(value), 'counter_volume must be a finite number')
    if isinstance(value, bool):
        raise _binding_error(value, 'counter_volume must be a number')
    if isinstance(value, str):
        if not _NUMERIC_RE.match(value):
            raise _binding_error(value, 'counter_volume must be a number')
    elif not isinstance(value, (int, float)):
        raise _binding_error(value, 'counter_volume must be a number')
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise _binding_error(str(value), 'counter_volume must be a finite number')
    return number


def _bind_sample(raw, texts=True):
    """Type-check one posted object (the WSME binding step).

    ``texts``: also check every string for NUL and lone surrogates.
    :returns: (the bound attributes, their size facts: [metadata items,
        metadata depth, longest metadata key, any dotted key, longest text])
    """
    if not isinstance(raw, dict):
        raise _binding_error(raw, 'Value not a valid dict')
    bound = {}
    stats = [0, 1, 0, False, 0]
    longest_text = 0
    kinds = _KINDS
    for attr, value in raw.items():
        kind = kinds.get(attr)
        if kind is None:
            raise exception.ClientSideError(f'Unknown attribute for argument samples: {attr}')
        if value is None:
            continue
        if kind == _TEXT:
            if not isinstance(value, str):
                raise _binding_error(value, f'{attr} must be a string')
            if texts:
                _check_text(attr, value)
            if len(value) > longest_text:
                longest_text = len(value)
        elif kind == _VOLUME:
            value = _bind_volume(value)
        elif kind == _TIMESTAMP:
            value = _bind_timestamp(value)
        elif kind == _METADATA:
            if not isinstance(value, dict):
                raise _binding_error(value, f'Value not a valid dict: {value}')
            _scan_metadata(value, texts, 0, stats)
        bound[attr] = value
    stats[4] = longest_text
    return bound, stats


def _bind_timestamp(value):
    """(aware-or-naive datetime as posted, naive UTC) for a posted timestamp."""
    if not isinstance(value, str):
        raise _binding_error(value, 'invalid timestamp format')
    text = value.strip()
    if len(text) > 64:  # what timestamps.parse refuses
        raise _binding_error(value, 'invalid timestamp format')
    if text[-1:] in ('z', 'Z'):
        text = text[:-1] + '+00:00'
    try:
        posted = datetime.datetime.fromisoformat(text)
        if posted.tzinfo is None:
            return posted, posted
        return posted, posted.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError, IndexError):
        raise _binding_error(value, 'invalid timestamp format')


def nest_metadata(metadata):
    """Split every key at every ``.`` into nested objects, recursively (§9.4 step 4).

    A nested object wins over a plain value stored at the same key.
    """
    nested = {}
    for key, value in metadata.items():
        if isinstance(value, dict):
            value = nest_metadata(value)
        node = nested
        *parents, last = key.split('.')
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        current = node.get(last)
        if isinstance(current, dict):
            if isinstance(value, dict):
                _merge(current, value)
        else:
            node[last] = value
    return nested


def _merge(target, extra):
    for key, value in extra.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value)
        elif not isinstance(current, dict):
            target[key] = value


def _check_sizes(attrs, conf):
    """The [api] bounds of limits.py on names, ids and metadata of one sample."""
    longest = conf.api.max_name_length
    for attr in _TEXT_ATTRS:
        value = attrs.get(attr)
        if isinstance(value, str) and len(value) > longest:
            raise exception.InvalidFieldValue(
                attr, value[:64] + '...', f'longer than [api] max_name_length ({longest})')
    budget = [conf.api.max_metadata_items]
    stack = [(attrs.get('resource_metadata') or {}, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > conf.api.max_metadata_depth:
            raise _binding_error('resource_metadata', 'nested deeper than '
                                 f'[api] max_metadata_depth ({conf.api.max_metadata_depth})')
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            budget[0] -= 1
            if budget[0] < 0:
                raise _binding_error('resource_metadata', 'more items than '
                                     f'[api] max_metadata_items ({conf.api.max_metadata_items})')
            if isinstance(key, str) and len(key) > longest:
                raise _binding_error(key[:64] + '...', 'metadata key longer than '
                                     f'[api] max_name_length ({longest})')
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))


def new_samples(body, meter_name, ctx, conf, signer, raw=None):
    """Validate a POST body into samples to store, in the order of §9.4.

    :param signer: ``callable(message dict) -> signature``, or None: unsigned
        (an empty signature, and no message built to sign).
    :param raw: the request body as received; when it holds no ``\\u0000`` and
        no surrogate escape (the only ways JSON text can carry NUL or a lone
        surrogate) the per-string checks are skipped.
    :returns: list of ``PostedSample``.
    :raises exception.InvalidInput: the first failing check of the first
        failing sample; nothing is stored then.
    """
    if body is None or body == [] or body == '':
        raise exception.ClientSideError('Samples should be included in request body')
    if not isinstance(body, list):
        raise _binding_error(body, 'Value not a valid list')
    texts = raw is None or _SUSPECT_ESCAPE.search(raw) is not None
    bound = [_bind_sample(item, texts) for item in body]
    now = timestamps.utcnow()
    now_text = now.isoformat()
    api = conf.api
    longest, items, depth = api.max_name_length, api.max_metadata_items, api.max_metadata_depth
    default_source = api.sample_source
    ctx_project, ctx_user, is_admin = ctx.project_id, ctx.user_id, ctx.is_admin
    mandatory = _MANDATORY_SET
    ids = message_ids(len(bound))
    posted_samples = []
    for (attrs, stats), message_id in zip(bound, ids):
        if stats[4] > longest or stats[2] > longest or stats[0] > items or stats[1] > depth:
            _check_sizes(attrs, conf)  # raises the reference's error for the first excess
        if not mandatory.issubset(attrs):
            for attr in _MANDATORY:
                if attr not in attrs:
                    raise exception.InvalidFieldValue(attr, 'None', 'Mandatory field missing.')
        if attrs['counter_name'] != meter_name:
            raise exception.InvalidFieldValue('counter_name', attrs['counter_name'],
                                              f'should be {meter_name}')
        if 'message_id' in attrs:
            raise exception.InvalidFieldValue('message_id', attrs['message_id'],
                                              'The message_id must not be set')
        if attrs['counter_type'] not in SAMPLE_TYPES:
            raise exception.InvalidFieldValue(
                'counter_type', attrs['counter_type'],
                'The counter type must be: ' + ', '.join(SAMPLE_TYPES))
        project_id = attrs.get('project_id') or ctx_project
        if not is_admin and project_id != ctx_project:
            raise exception.InvalidFieldValue('project_id', attrs.get('project_id'),
                                              'can not post samples to other projects')
        user_id = attrs.get('user_id') or ctx_user
        source = f'{project_id}:{attrs.get("source") or default_source}'
        if 'timestamp' in attrs:
            posted_when, when = attrs['timestamp']
            timestamp_text = posted_when.isoformat()
        else:
            when, timestamp_text = now, now_text
        metadata = attrs.get('resource_metadata') or {}
        if stats[3]:  # some metadata key holds a dot; without one, nesting changes nothing
            metadata = nest_metadata(metadata)
        signature = '' if signer is None else _sign(
            signer, attrs, source, user_id, project_id, when, metadata, message_id)
        posted_samples.append(PostedSample(models.Sample(
            source, attrs['counter_name'], attrs['counter_type'], attrs['counter_unit'],
            attrs['counter_volume'], user_id, project_id, attrs['resource_id'], when,
            metadata, message_id, signature), attrs, timestamp_text))
    return posted_samples


def _sign(signer, attrs, source, user_id, project_id, when, metadata, message_id):
    return signer({
        'source': source, 'counter_name': attrs['counter_name'],
        'counter_type': attrs['counter_type'], 'counter_unit': attrs['counter_unit'],
        'counter_volume': attrs['counter_volume'], 'user_id': user_id,
        'project_id': project_id, 'resource_id': attrs['resource_id'],
        'timestamp': timestamps.isoformat(when), 'resource_metadata': metadata,
        'message_id': message_id,
    })
