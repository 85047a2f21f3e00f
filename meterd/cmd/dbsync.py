"""meterd-dbsync: create or upgrade the storage schema explicitly.

meterd-api does the same on start; run this before starting several API
hosts at once, or after installing a new meterd version.
"""

import sys

from oslo_log import log

from meterd import exception
from meterd import service
from meterd import storage

LOG = log.getLogger(__name__)


def main(argv=None):
    conf = service.prepare_service(
        argv, description='Create or upgrade the meterd storage schema of '
                          '[database] connection.')
    url = storage.connection_url(conf)
    try:
        conn = storage.get_connection(conf)
        try:
            conn.upgrade()
        finally:
            conn.close()
    except exception.MeterdError as err:
        LOG.error('Cannot upgrade %s: %s', storage.mask_url(url), err.message)
        return 1
    LOG.info('Storage schema of %s is up to date', storage.mask_url(url))
    return 0


if __name__ == '__main__':
    sys.exit(main())
