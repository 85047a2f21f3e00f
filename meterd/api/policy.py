"""RBAC: the telemetry:* rules with their defaults in code (spec §4.3), and authorize().

Operators override any rule in the oslo.policy file ([oslo_policy] policy_file);
``oslopolicy-sample-generator --namespace meterd`` prints the defaults.
"""

import sys
import time

from oslo_config import cfg
from oslo_policy import policy

from meterd import exception

ADMIN = 'role:admin'

_RULES = (
    ('context_is_admin', ADMIN, 'Who is an administrator.'),
    ('segregation', 'rule:context_is_admin',
     'Who sees every project; everyone else is confined to their own project.'),
)

_API_RULES = (
    ('telemetry:get_meters', 'GET /v2/meters', 'List meters.'),
    ('telemetry:get_samples', 'GET /v2/meters/{meter_name} and GET /v2/samples',
     'List samples.'),
    ('telemetry:get_sample', 'GET /v2/samples/{sample_id}', 'Show a sample.'),
    ('telemetry:create_samples', 'POST /v2/meters/{meter_name}', 'Add samples.'),
    ('telemetry:compute_statistics', 'GET /v2/meters/{meter_name}/statistics',
     'Compute statistics.'),
    ('telemetry:get_resources', 'GET /v2/resources', 'List resources.'),
    ('telemetry:get_resource', 'GET /v2/resources/{resource_id}', 'Show a resource.'),
    ('telemetry:query_sample', 'POST /v2/query/samples', 'Complex query of samples.'),
)


def list_rules():
    """Default rules, for oslo.policy's generators (entry point ``meterd``)."""
    rules = [policy.RuleDefault(name, check, description=desc) for name, check, desc in _RULES]
    for name, path, desc in _API_RULES:
        method, _, url = path.partition(' ')
        rules.append(policy.DocumentedRuleDefault(
            name, '', desc, [{'method': method, 'path': url.split(' and ')[0]}]))
    return rules


#: Seconds between two looks for a changed policy file or policy.d.
RELOAD_INTERVAL = 1.0


#: Decisions remembered between two looks at the rules.
_MEMO_SIZE = 1024


class Enforcer(policy.Enforcer):
    """oslo.policy's Enforcer, looking for policy file changes at most once per interval.

    oslo.policy checks on every ``enforce``: a search of the config
    directories (several ``stat`` calls, repeated every time when no file
    exists) plus the policy.d walk, twice per request here. A changed file is
    still picked up, within ``RELOAD_INTERVAL``; a forced reload is never delayed.
    Decisions are remembered per (rule, target, credentials) until the rules
    are next looked at: evaluating a rule inspects each check's signature.
    """

    _checked_at = None

    def __init__(self, *args, **kwargs):
        self._decisions = {}
        super().__init__(*args, **kwargs)

    def load_rules(self, force_reload=False):
        now = time.monotonic()
        if (force_reload or not self.rules or self._checked_at is None
                or now - self._checked_at >= RELOAD_INTERVAL):
            self._decisions.clear()
            super().load_rules(force_reload)
            self._checked_at = now

    def set_rules(self, *args, **kwargs):
        self._decisions.clear()
        super().set_rules(*args, **kwargs)

    def clear(self):
        super().clear()
        self._checked_at = None

    def allows(self, rule, target, creds):
        """``bool(enforce(rule, target, creds))``, remembered until the rules are next read."""
        self.load_rules()
        try:
            key = (rule, _frozen(target), _frozen(creds))
            decision = self._decisions.get(key)
        except TypeError:  # a value that cannot be a key: no memo
            return bool(self.enforce(rule, target, creds))
        if decision is None:
            decision = bool(self.enforce(rule, target, creds))
            if len(self._decisions) >= _MEMO_SIZE:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision


def _frozen(mapping):
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in mapping.items())


#: id(conf) -> (conf, enforcer). Holding conf keeps its id from being reused
#: by a later ConfigOpts (tests build many), which would inherit its policy.
_ENFORCERS = {}


def _enforcer(conf):
    entry = _ENFORCERS.get(id(conf))
    if entry is None or entry[0] is not conf:
        enforcer = Enforcer(conf)
        enforcer.register_defaults(list_rules())
        entry = _ENFORCERS[id(conf)] = (conf, enforcer)
    return entry[1]


def get_enforcer():
    """For ``oslopolicy-policy-generator``: an enforcer over the command line's config."""
    conf = cfg.ConfigOpts()
    conf(sys.argv[1:], project='meterd')
    return _enforcer(conf)


def authorize(conf, ctx, rule):
    """Check ``rule`` for the caller and settle whether it is admin (rule ``segregation``).

    :raises exception.NotAuthorized: the rule denies the caller (403).
    :raises exception.NotAuthenticated: a non-admin without a project (401):
        "no project" must never mean "every project" (spec §4.2).
    """
    enforcer = _enforcer(conf)
    creds = ctx.to_policy_values()
    target = {'user_id': ctx.user_id, 'project_id': ctx.project_id}
    if not enforcer.allows(rule, target, creds):
        raise exception.NotAuthorized()
    ctx.is_admin = enforcer.allows('segregation', target, creds)
    if not ctx.is_admin and not ctx.project_id:
        raise exception.NotAuthenticated('A project is required for this request.')
