"""pymongo driver: replica sets and sharded clusters for scale-out (spec §10, §12).

This module owns the client, the options, start-up retries, the write
concern and the translation of pymongo errors; the ``storage.mongodb``
modules hold the schema, writes, reads, statistics and complex queries.
"""

import contextlib
import functools

import bson
from oslo_log import log
import pymongo
from pymongo import errors
from pymongo import read_preferences
from pymongo import topology_description
from pymongo import write_concern

from meterd import exception
from meterd import storage
from meterd.storage import base
from meterd.storage.mongodb import complex_query
from meterd.storage.mongodb import filters
from meterd.storage.mongodb import reads
from meterd.storage.mongodb import schema
from meterd.storage.mongodb import statistics
from meterd.storage.mongodb import writes

LOG = log.getLogger(__name__)


_READ_PREFERENCES = {
    'primary': read_preferences.Primary(),
    'primaryPreferred': read_preferences.PrimaryPreferred(),
    'secondary': read_preferences.Secondary(),
    'secondaryPreferred': read_preferences.SecondaryPreferred(),
    'nearest': read_preferences.Nearest(),
}


def _translating(gen_func):
    """Translate errors raised while a read generator is being consumed."""
    @functools.wraps(gen_func)
    def wrapper(self, *args, **kwargs):
        with self.translate_errors():
            yield from gen_func(self, *args, **kwargs)
    return wrapper


class Connection(base.Connection):
    """One MongoClient per API process; pymongo pools and reconnects by itself."""

    CAPABILITIES = base.SHIPPED_CAPABILITIES
    STORAGE_CAPABILITIES = base.SHIPPED_STORAGE_CAPABILITIES

    def __init__(self, url, conf):
        self.conf = conf
        self._url = url
        timeout_ms = conf.database.mongodb_server_selection_timeout * 1000
        self.client = pymongo.MongoClient(url, serverSelectionTimeoutMS=timeout_ms,
                                          appname='meterd', tz_aware=False)
        self.db = self.client.get_default_database(default='meterd')
        storage.connect_with_retries(self._ping, url, conf, errors.ConnectionFailure)
        self._clustered = self._is_clustered()
        self.write_concern = self._write_concern(conf.database.mongodb_write_concern)
        self.read_preference = _READ_PREFERENCES[
            conf.database.mongodb_statistics_read_preference]
        self.upgrade()

    # -- connection and schema --------------------------------------------

    def _ping(self):
        self.client.admin.command('ping')

    def _is_clustered(self):
        """True on a replica set or behind mongos: transactions and majority writes exist."""
        topology = getattr(self.client, 'topology_description', None)
        if not isinstance(topology, topology_description.TopologyDescription):
            return False
        return topology.topology_type_name in ('ReplicaSetWithPrimary', 'ReplicaSetNoPrimary',
                                               'Sharded')

    def _write_concern(self, option):
        if option == 'auto':
            w = 'majority' if self._clustered else 1
        elif option.isdigit():
            w = int(option)
        else:
            w = option
        return write_concern.WriteConcern(w=w, j=True)

    def upgrade(self):
        with self.translate_errors():
            schema.ensure_indexes(self.db)
            schema.ensure_ttl(self.db, self.conf.database.metering_time_to_live)

    def clear(self):
        with self.translate_errors():
            for name in (schema.SAMPLES, schema.METERS, schema.RESOURCES):
                self.db[name].delete_many({})

    def close(self):
        self.client.close()

    @contextlib.contextmanager
    def translate_errors(self):
        """pymongo errors -> MeterdError at the driver boundary."""
        try:
            yield
        except (bson.errors.InvalidDocument, OverflowError) as err:
            # A value BSON cannot hold (an integer beyond 64 bits): the client's input.
            raise exception.InvalidInput(f'A value cannot be stored or queried: {err}') from err
        except errors.DuplicateKeyError as err:
            raise exception.Conflict('The data conflicts with stored data.') from err
        except (errors.ConnectionFailure, errors.WriteConcernError,
                errors.ExecutionTimeout) as err:
            LOG.error('MongoDB operation failed on %s: %s',
                      storage.mask_url(self._url), type(err).__name__)
            raise exception.StorageUnavailable() from err
        except errors.PyMongoError as err:
            LOG.error('MongoDB operation failed on %s: %s: %s',
                      storage.mask_url(self._url), type(err).__name__, err)
            raise exception.MeterdError() from err

    # -- metering --------------------------------------------------------

    def record_samples(self, samples):
        samples = list(samples)
        if not samples:
            return
        with self.translate_errors():
            writes.record(self.client, self.db, samples, self._clustered, self.write_concern)

    def get_samples(self, sample_filter, limit=None):
        if limit == 0:
            return iter(())
        return self._samples(filters.sample_filter(sample_filter), reads.NEWEST_FIRST, limit)

    @_translating
    def _samples(self, query, sort, limit, exact=None):
        yield from reads.samples(self.db, query, sort, limit, exact)

    @_translating
    def get_meters(self, sample_filter, limit=None, unique=False):
        if limit == 0:
            return
        yield from reads.meters(self.db, sample_filter, limit, unique)

    @_translating
    def get_resources(self, sample_filter, limit=None):
        if limit == 0:
            return
        yield from reads.resources(self.db, sample_filter, limit)

    def get_meter_names_by_resource(self, resource_ids, project=None):
        resource_ids = list(resource_ids)
        if not resource_ids:
            return {}
        with self.translate_errors():
            return reads.meter_names_by_resource(self.db, resource_ids, project)

    def clear_expired_metering_data(self, ttl):
        if ttl is None or ttl <= 0:
            return 0
        with self.translate_errors():
            removed = writes.expire(writes.Durable(self.db, self.write_concern), ttl)
        LOG.info('Expired %d samples older than %d seconds', removed, ttl)
        return removed

    # -- statistics and complex query --------------------------------------

    def get_meter_statistics(self, sample_filter, period=None, groupby=(),
                             aggregates=(), limit=None):
        with self.translate_errors():
            return statistics.statistics(self.db, self.read_preference, sample_filter,
                                         period, groupby, aggregates, limit)

    def query_samples(self, filter_expr=None, orderby=None, limit=None):
        if limit == 0:
            return iter(())
        query = complex_query.translate(filter_expr) if filter_expr else {}
        exact = None
        if filter_expr and complex_query.has_regex(filter_expr):
            exact = functools.partial(complex_query.matches, filter_expr)
        return self._samples(query, complex_query.sort(orderby), limit, exact)
