"""[api] bounds on what one request may ask for: page sizes, statistics and filter sizes."""

from oslo_config import cfg

GROUP = 'api'
OPTS = [
    cfg.IntOpt('default_api_return_limit', default=100, min=1,
               help='Items returned by a list request that gives no limit.'),
    cfg.IntOpt('max_api_return_limit', default=1000000, min=1,
               help='Largest limit a client may ask for; a larger one is answered with '
                    '400 naming this option.'),
    cfg.IntOpt('max_statistics_partitions', default=100000, min=1,
               help='Most statistics entries (period buckets x units x groups) one '
                    'request may produce; a request that would exceed it gets 400 naming '
                    'this option. A bounded time window holding more periods than this is '
                    'refused before the database is read.'),
    cfg.IntOpt('max_query_depth', default=32, min=1, max=100,
               help='Deepest nesting of a complex query filter: each and/or/not level '
                    'and the comparison itself count one. Deeper filters get 400.'),
    cfg.IntOpt('max_query_nodes', default=1000, min=1,
               help='Most nodes (operators and comparisons) a complex query filter may '
                    'have; also the most values in one "in" list, operands of one and/or '
                    'and items of an orderby. Larger queries get 400.'),
    cfg.IntOpt('max_query_terms', default=200, min=1, max=10000,
               help='Most q.field terms one simple query may carry; more is a 400.'),
    cfg.IntOpt('max_name_length', default=255, min=1, max=2048,
               help='Longest meter name, unit, resource/project/user id, source or '
                    'metadata key a posted sample may carry (longer ones are 400). Keeps '
                    'every value within the index limits of PostgreSQL and MongoDB.'),
    cfg.IntOpt('max_metadata_items', default=1000, min=1,
               help='Most keys (counted at every nesting level, list items included) the '
                    'resource_metadata of one posted sample may have.'),
    cfg.IntOpt('max_metadata_depth', default=32, min=1, max=64,
               help='Deepest nesting of objects and lists in the resource_metadata of a '
                    'posted sample.'),
    cfg.IntOpt('max_regex_length', default=1024, min=1,
               help='Longest pattern accepted by the complex query operator =~ (RE2 '
                    'syntax; PostgreSQL runs it with its own engine, so long patterns are '
                    'refused rather than risked). Longer patterns get 400.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
