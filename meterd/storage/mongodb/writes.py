"""Writes: a batch of samples all-or-nothing, the derived meter/resource documents, expiry.

On a replica set or sharded cluster a batch is one transaction. A standalone
server has none, so the batch is validated (BSON-encoded) before anything is
written, the samples go in with one ordered ``insert_many``, and on any
failure the inserted samples are removed and the derived documents of the
touched resources are rebuilt from what is stored: a client never sees a
half-stored batch acknowledged, and a failed one leaves no trace.
"""

import bson
from oslo_log import log
from pymongo import errors

from meterd import exception
from meterd.storage.mongodb import escaping
from meterd.storage.mongodb import filters
from meterd.storage.mongodb import schema
from meterd import timestamps

LOG = log.getLogger(__name__)

_DESCRIBING = ('user_id', 'project_id', 'source', 'resource_metadata')


def sample_document(sample, recorded_at):
    """A ``models.Sample`` -> its stored document (``_id`` assigned here: stored order)."""
    return {
        '_id': bson.ObjectId(),
        'message_id': sample.message_id,
        'message_signature': sample.message_signature or '',
        'source': sample.source,
        'counter_name': sample.counter_name,
        'counter_type': sample.counter_type,
        'counter_unit': sample.counter_unit or '',
        'counter_volume': float(sample.counter_volume),
        'user_id': sample.user_id,
        'project_id': sample.project_id,
        'resource_id': sample.resource_id,
        # BSON dates hold milliseconds: the exact instant is the Int64 ``ts``.
        'timestamp': sample.timestamp,
        'ts': filters.micros(sample.timestamp),
        'recorded_at': recorded_at,
        'recorded_us': filters.micros(recorded_at),
        'resource_metadata': escaping.escape_metadata(sample.resource_metadata),
    }


def validate(documents):
    """Encode every document before writing any: nothing is stored if one cannot be."""
    for doc in documents:
        try:
            bson.encode(doc)
        except (bson.errors.InvalidDocument, OverflowError) as err:
            raise exception.InvalidInput(
                f'Sample {doc["message_id"]} cannot be stored: {err}') from err


def _resource_update(docs):
    """Pipeline update for one resource: min/max times; owner from the newest sample.

    Ties on the timestamp go to the sample stored last (the later ``docs`` item
    here, a later batch across batches: ``$gte``).
    """
    newest = max(enumerate(docs), key=lambda item: (item[1]['ts'], item[0]))[1]
    oldest = min(docs, key=lambda d: d['ts'])
    wins = {'$gte': [newest['ts'], {'$ifNull': ['$last_ts', bson.Int64(-2 ** 63)]}]}
    stage = {
        'first_ts': {'$min': ['$first_ts', oldest['ts']]},
        'first_sample_timestamp': {'$min': ['$first_sample_timestamp', oldest['timestamp']]},
        'last_ts': {'$max': ['$last_ts', newest['ts']]},
        'last_sample_timestamp': {'$max': ['$last_sample_timestamp', newest['timestamp']]},
    }
    for field in _DESCRIBING + ('_sample',):
        value = newest['_id'] if field == '_sample' else newest[field]
        name = 'last_sample_id' if field == '_sample' else field
        stage[name] = {'$cond': [wins, {'$literal': value}, f'${name}']}
    return [{'$set': stage}]


def _meter_update(doc, newest_ts, newest_date):
    """The pair's describing sample is the one stored last (``doc``), §9.2."""
    return {
        '$set': {'user_id': doc['user_id'], 'project_id': doc['project_id'],
                 'source': doc['source'], 'resource_metadata': doc['resource_metadata'],
                 'last_sample_id': doc['_id']},
        '$max': {'last_ts': newest_ts, 'last_sample_timestamp': newest_date},
    }


def _pair_key(doc):
    return (doc['resource_id'], doc['counter_name'], doc['counter_type'], doc['counter_unit'])


def update_derived(db, documents, session=None):
    """Bring the meter and resource documents up to date with ``documents`` (stored order)."""
    by_resource = {}
    by_pair = {}
    for doc in documents:
        by_resource.setdefault(doc['resource_id'], []).append(doc)
        by_pair.setdefault(_pair_key(doc), []).append(doc)
    for resource_id, docs in by_resource.items():
        _upsert(db[schema.RESOURCES], {'_id': resource_id}, _resource_update(docs), session)
    for (resource_id, name, type_, unit), docs in by_pair.items():
        newest = max(docs, key=lambda d: d['ts'])
        key = {'resource_id': resource_id, 'counter_name': name, 'counter_type': type_,
               'counter_unit': unit}
        _upsert(db[schema.METERS], key,
                _meter_update(docs[-1], newest['ts'], newest['timestamp']), session)


def _upsert(coll, key, update, session):
    try:
        coll.update_one(key, update, upsert=True, session=session)
    except errors.DuplicateKeyError:
        # Two writers upserted the same new key at once; the document exists now.
        coll.update_one(key, update, upsert=True, session=session)


class Durable:
    """The database's collections, each with the driver's write concern."""

    def __init__(self, db, write_concern):
        self._db = db
        self._write_concern = write_concern

    def __getitem__(self, name):
        return self._db.get_collection(name, write_concern=self._write_concern)


def record(client, db, samples, transactions, write_concern):
    """Store ``samples`` all-or-nothing; derived documents updated with them."""
    recorded_at = timestamps.utcnow()
    documents = [sample_document(s, recorded_at) for s in samples]
    validate(documents)
    wdb = Durable(db, write_concern)
    if transactions:
        def _write(session):
            wdb[schema.SAMPLES].insert_many(documents, ordered=True, session=session)
            update_derived(wdb, documents, session)
        with client.start_session() as session:
            session.with_transaction(_write, write_concern=write_concern)
        return
    try:
        wdb[schema.SAMPLES].insert_many(documents, ordered=True)
        update_derived(wdb, documents)
    except Exception:
        _undo(wdb, documents)
        raise


def _undo(db, documents):
    """Remove a failed batch's samples and rebuild what it touched (standalone servers)."""
    try:
        db[schema.SAMPLES].delete_many({'_id': {'$in': [d['_id'] for d in documents]}})
        rebuild_derived(db, sorted({d['resource_id'] for d in documents}))
    except errors.PyMongoError:
        LOG.error('Could not remove a partially stored batch of %d samples; '
                  'meterd-expirer or the next write of those resources repairs it',
                  len(documents))


def rebuild_derived(db, resource_ids):
    """Recompute the meter and resource documents of ``resource_ids`` from their samples."""
    samples = db[schema.SAMPLES]
    match = {'$match': {'resource_id': {'$in': list(resource_ids)}}}
    kept_resources = set()
    for row in samples.aggregate([
            match, {'$sort': {'ts': -1, '_id': -1}},
            {'$group': {'_id': '$resource_id', 'first_ts': {'$min': '$ts'},
                        'first_sample_timestamp': {'$min': '$timestamp'},
                        'last_ts': {'$first': '$ts'},
                        'last_sample_timestamp': {'$first': '$timestamp'},
                        'last_sample_id': {'$first': '$_id'},
                        **{f: {'$first': f'${f}'} for f in _DESCRIBING}}}],
            allowDiskUse=True):
        kept_resources.add(row['_id'])
        db[schema.RESOURCES].replace_one({'_id': row['_id']}, row, upsert=True)
    db[schema.RESOURCES].delete_many({'_id': {'$in': [r for r in resource_ids
                                                       if r not in kept_resources]}})
    kept_pairs = []
    for row in samples.aggregate([
            match, {'$sort': {'_id': -1}},
            {'$group': {'_id': {'r': '$resource_id', 'n': '$counter_name',
                                't': '$counter_type', 'u': '$counter_unit'},
                        'last_sample_id': {'$first': '$_id'},
                        'last_ts': {'$max': '$ts'},
                        'last_sample_timestamp': {'$max': '$timestamp'},
                        **{f: {'$first': f'${f}'} for f in _DESCRIBING}}}],
            allowDiskUse=True):
        key = {'resource_id': row['_id']['r'], 'counter_name': row['_id']['n'],
               'counter_type': row['_id']['t'], 'counter_unit': row['_id']['u']}
        body = {k: v for k, v in row.items() if k != '_id'}
        db[schema.METERS].update_one(key, {'$set': body}, upsert=True)
        kept_pairs.append(row['last_sample_id'])
    db[schema.METERS].delete_many({'resource_id': {'$in': list(resource_ids)},
                                   'last_sample_id': {'$nin': kept_pairs}})


def expire(db, ttl):
    """Delete samples older than ``ttl`` seconds, then fix or drop the derived documents."""
    cutoff = filters.micros(timestamps.utcnow()) - bson.Int64(ttl * 1_000_000)
    cutoff = bson.Int64(cutoff)
    touched = sorted(doc['_id'] for doc in db[schema.RESOURCES].find(
        {'first_ts': {'$lt': cutoff}}, projection={'_id': 1}))
    removed = db[schema.SAMPLES].delete_many({'ts': {'$lt': cutoff}}).deleted_count
    # Samples the TTL monitor removed earlier leave the same traces: rebuild in chunks.
    for start in range(0, len(touched), 500):
        rebuild_derived(db, touched[start:start + 500])
    db[schema.METERS].delete_many({'last_ts': {'$lt': cutoff}})
    return removed
