"""The [database] options of the MongoDB driver.

Apart from the driver so that registering them (every process does) does
not import pymongo (about 6 MB) into processes that store elsewhere.
"""

from oslo_config import cfg

GROUP = 'database'
OPTS = [
    cfg.StrOpt('mongodb_write_concern', default='auto',
               help='MongoDB write concern "w" for samples: "auto" (majority on a replica '
                    'set or sharded cluster, 1 on a standalone server), "majority", or a '
                    'number of members. Writes are always journaled; a 201 answer means '
                    'the samples survive a crash of the acknowledging members.'),
    cfg.StrOpt('mongodb_statistics_read_preference', default='primary',
               choices=['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred',
                        'nearest'],
               help='Where MongoDB statistics aggregations run. "secondaryPreferred" '
                    'moves the heavy pipelines off the primary at the price of '
                    'replication lag (a just-posted sample may be missing for a moment).'),
    cfg.IntOpt('mongodb_server_selection_timeout', default=5, min=1,
               help='Seconds a MongoDB operation waits for a usable server before the '
                    'request fails with 503.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
