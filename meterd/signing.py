"""message_signature of a metering message: HMAC-SHA256 with [publisher] telemetry_secret (§12.4).

The default secret is empty, which means "do not sign": the signature is the
empty string and posting costs no HMAC. Set a secret to get the same
signatures Ceilometer's publishers computed.
"""

import hashlib
import hmac

from oslo_config import cfg

GROUP = 'publisher'
OPTS = [
    cfg.StrOpt('telemetry_secret', default='', secret=True,
               help='Secret key signing each stored sample (message_signature, '
                    'HMAC-SHA256). Empty (the default) stores samples unsigned.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


def _keypairs(message, prefix=''):
    """(key, value) in sorted key order; nested dicts become ``parent:child`` keys."""
    for name, value in sorted(message.items()):
        key = f'{prefix}:{name}' if prefix else name
        if isinstance(value, dict):
            yield from _keypairs(value, key)
        else:
            yield key, value


def compute_signature(message, secret):
    """Hex HMAC-SHA256 of ``message`` (a dict) without its ``message_signature``; '' unsigned."""
    if not secret:
        return ''
    digest = hmac.new(secret.encode('utf-8'), b'', hashlib.sha256)
    for name, value in _keypairs(message):
        if name == 'message_signature':
            continue
        digest.update(str(name).encode('utf-8'))
        digest.update(str(value).encode('utf-8'))
    return digest.hexdigest()
