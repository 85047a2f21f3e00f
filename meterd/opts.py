"""Every option module, named once: for oslo-config-generator and for prepare_service."""

import itertools

from meterd.api import app
from meterd.api import limits
from meterd.api import server
from meterd.api.middleware import auth
from meterd import signing
from meterd import storage
from meterd.storage.mongodb import options as mongodb_options

#: (module with GROUP/OPTS/register_opts) in the order the sample file lists them.
_OPT_MODULES = (storage, mongodb_options, server, app, limits, auth, signing)


def list_opts():
    """(group, opts) pairs for oslo-config-generator (entry point ``meterd``)."""
    grouped = {}
    for module in _OPT_MODULES:
        for group, opts in module.list_opts():
            grouped.setdefault(group, []).extend(opts)
    return [(group, list(opts)) for group, opts in grouped.items()]


def register_opts(conf):
    for module in _OPT_MODULES:
        module.register_opts(conf)


def all_opts():
    return list(itertools.chain.from_iterable(opts for _g, opts in list_opts()))
