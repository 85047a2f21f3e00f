"""Collections, indexes and TTL indexes of the MongoDB store (spec §12, improved per §16).

``sample`` holds one document per sample; ``meter`` one per (resource, name,
type, unit) pair describing its most recently stored sample (§9.2); and
``resource`` one per resource: first/last timestamps over all its samples,
owner and metadata of the sample with the greatest timestamp (§9.7). Times
are kept twice: ``ts`` (Int64 microseconds since the epoch, exact — the
field every query, sort and period bucket uses) and a BSON date (millisecond
precision) that only the TTL indexes read.
"""

from oslo_log import log
import pymongo
from pymongo import errors

LOG = log.getLogger(__name__)

SAMPLES = 'sample'
METERS = 'meter'
RESOURCES = 'resource'

#: collection -> [(index name, keys, options)]; the queries of reads.py need these.
INDEXES = {
    SAMPLES: [
        ('sample_meter_ts', [('counter_name', 1), ('ts', -1)], {}),
        ('sample_resource_meter_ts', [('resource_id', 1), ('counter_name', 1), ('ts', -1)], {}),
        ('sample_project_meter_ts', [('project_id', 1), ('counter_name', 1), ('ts', -1)], {}),
        ('sample_ts', [('ts', -1)], {}),
        ('sample_message_id', [('message_id', 1)], {}),
    ],
    METERS: [
        ('meter_pair', [('resource_id', 1), ('counter_name', 1), ('counter_type', 1),
                        ('counter_unit', 1)], {'unique': True}),
        ('meter_name_stored', [('counter_name', 1), ('last_sample_id', -1)], {}),
        ('meter_project', [('project_id', 1)], {}),
    ],
    RESOURCES: [
        ('resource_last', [('last_ts', -1), ('_id', 1)], {}),
        ('resource_project_last', [('project_id', 1), ('last_ts', -1)], {}),
    ],
}

#: collection -> (TTL index name, BSON date field); a document goes once its newest
#: sample is older than the TTL.
TTL_INDEXES = {
    SAMPLES: ('sample_ttl', 'timestamp'),
    METERS: ('meter_ttl', 'last_sample_timestamp'),
    RESOURCES: ('resource_ttl', 'last_sample_timestamp'),
}


def ensure_indexes(db):
    for collection, indexes in INDEXES.items():
        for name, keys, options in indexes:
            db[collection].create_index(keys, name=name, **options)


def ensure_ttl(db, ttl):
    """Create, change (collMod) or drop the TTL indexes to match ``ttl`` seconds (<= 0: none)."""
    for collection, (name, field) in TTL_INDEXES.items():
        coll = db[collection]
        current = coll.index_information().get(name)
        if ttl <= 0:
            if current is not None:
                LOG.info('Dropping TTL index %s (metering_time_to_live <= 0)', name)
                coll.drop_index(name)
            continue
        if current is None:
            LOG.info('Creating TTL index %s: %d seconds', name, ttl)
            coll.create_index([(field, pymongo.ASCENDING)], name=name, expireAfterSeconds=ttl)
        elif current.get('expireAfterSeconds') != ttl:
            LOG.info('Changing TTL index %s to %d seconds', name, ttl)
            _change_ttl(db, coll, name, field, ttl)


def _change_ttl(db, coll, name, field, ttl):
    try:
        db.command({'collMod': coll.name, 'index': {'name': name, 'expireAfterSeconds': ttl}})
    except (errors.OperationFailure, NotImplementedError):
        # A server (or emulator) without collMod on indexes: rebuild the index instead.
        coll.drop_index(name)
        coll.create_index([(field, pymongo.ASCENDING)], name=name, expireAfterSeconds=ttl)
