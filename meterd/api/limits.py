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
               help='Most statistics entries (period buckets x groups) one request may '
                    'produce; a request that would exceed it gets 400.'),
    cfg.IntOpt('max_query_depth', default=32, min=1,
               help='Deepest nesting of and/or/not a complex query filter may have.'),
    cfg.IntOpt('max_query_nodes', default=1000, min=1,
               help='Most nodes (operators and leaves) a complex query filter may have, '
                    'and most values in one "in" list.'),
    cfg.IntOpt('max_regex_length', default=1024, min=1,
               help='Longest pattern accepted by the complex query operator =~.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
