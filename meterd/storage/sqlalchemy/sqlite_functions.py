"""SQL functions SQLite lacks, registered on every new SQLite connection.

``meterd_regexp`` gives ``=~`` a linear-time engine (RE2: no catastrophic
backtracking); ``meterd_var_pop`` is a population variance that stays exact
when groups of one statement differ hugely in magnitude.
"""

import functools

import re2

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.never_capture = True


@functools.lru_cache(maxsize=128)
def _compiled(pattern):
    return re2.compile(pattern, _RE2_OPTIONS)


def regexp(pattern, value):
    """True when ``pattern`` is found in ``value``; each pattern compiled once per process."""
    if value is None or pattern is None:
        return None
    try:
        return _compiled(pattern).search(str(value)) is not None
    except re2.error:
        return False


class VariancePop:
    """Aggregate: sums of squares shifted by the group's own first value.

    Shifting per group keeps the subtraction well conditioned for every
    group, whatever the other groups' scale (one shift for the whole
    statement lost all precision for small values beside values near 1e9).
    """

    __slots__ = ('n', 'shift', 's', 'ss')

    def __init__(self):
        self.n = 0
        self.shift = None
        self.s = 0.0
        self.ss = 0.0

    def step(self, value):
        if value is None:
            return
        if self.shift is None:
            self.shift = value
        x = value - self.shift
        self.n += 1
        self.s += x
        self.ss += x * x

    def finalize(self):
        if not self.n:
            return None
        return max((self.ss - self.s * self.s / self.n) / self.n, 0.0)


def register(dbapi_connection):
    dbapi_connection.create_function('meterd_regexp', 2, regexp, deterministic=True)
    dbapi_connection.create_aggregate('meterd_var_pop', 1, VariancePop)
