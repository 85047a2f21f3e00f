"""meterd-expirer: delete samples older than [database] metering_time_to_live.

Meters and resources left without samples go with them. Run it from cron
(or a systemd timer); each run is one bounded pass.
"""

import sys

from oslo_log import log

from meterd import exception
from meterd import service
from meterd import storage

LOG = log.getLogger(__name__)


def main(argv=None):
    conf = service.prepare_service(
        argv, description='Delete samples older than [database] metering_time_to_live '
                          'seconds, and the meters and resources left without samples.')
    ttl = conf.database.metering_time_to_live
    if ttl <= 0:
        LOG.info('[database] metering_time_to_live is %d: samples are kept forever; '
                 'nothing to expire', ttl)
        return 0
    try:
        conn = storage.get_connection(conf)
        try:
            removed = conn.clear_expired_metering_data(ttl)
        finally:
            conn.close()
    except exception.MeterdError as err:
        LOG.error('Cannot expire samples in %s: %s',
                  storage.mask_url(storage.connection_url(conf)), err.message)
        return 1
    LOG.info('Expired %d sample(s) older than %d seconds', removed, ttl)
    return 0


if __name__ == '__main__':
    sys.exit(main())
