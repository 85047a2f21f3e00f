"""Reads: samples, meters and resources as models, streamed from the cursor.

Every read is one query or one aggregation. ``ts`` (Int64 microseconds)
orders by time; ``_id`` (ObjectIds assigned in stored order) breaks ties.
"""


from meterd.storage.mongodb import escaping
from meterd.storage.mongodb import filters
from meterd.storage.mongodb import schema
from meterd import storage
from meterd.storage import models
from meterd import timestamps

NEWEST_FIRST = [('ts', -1), ('_id', -1)]


def _time(micros):
    return None if micros is None else timestamps.from_micros(int(micros))


def sample_model(doc):
    return models.Sample(
        source=doc.get('source'),
        counter_name=doc['counter_name'],
        counter_type=doc['counter_type'],
        counter_unit=doc.get('counter_unit') or '',
        # Large integers may come back as Int64 (spec §16 #11): always float.
        counter_volume=float(doc['counter_volume']),
        user_id=doc.get('user_id'),
        project_id=doc.get('project_id'),
        resource_id=doc['resource_id'],
        timestamp=_time(doc['ts']),
        resource_metadata=escaping.unescape_metadata(doc.get('resource_metadata') or {}),
        message_id=doc['message_id'],
        message_signature=doc.get('message_signature') or '',
        recorded_at=_time(doc.get('recorded_us')),
    )


def samples(db, query, sort, limit, exact=None):
    """Samples of ``query`` in ``sort`` order; ``exact`` (a predicate on the
    stored document) refines a relaxed query in the driver, limit counting matches."""
    cursor = db[schema.SAMPLES].find(query, sort=sort)
    if limit is not None and exact is None:
        cursor = cursor.limit(limit)
    found = 0
    for doc in cursor:
        if exact is not None:
            if not exact(doc):
                continue
            found += 1
            if limit is not None and found > limit:
                return
        yield sample_model(doc)


def _meter_model(doc, unique=False):
    return models.Meter(
        name=doc['counter_name'], type=doc['counter_type'], unit=doc.get('counter_unit') or '',
        resource_id=None if unique else doc['resource_id'],
        project_id=None if unique else doc.get('project_id'),
        user_id=None if unique else doc.get('user_id'),
        source=None if unique else doc.get('source'))


def meters(db, sample_filter, limit, unique):
    """Meter documents, filtered by their describing sample (§9.2)."""
    query = filters.describing_filter(sample_filter)
    coll = db[schema.METERS]
    if not unique:
        cursor = coll.find(query, sort=[('resource_id', 1), ('counter_name', 1),
                                        ('counter_type', 1), ('counter_unit', 1)])
        if limit is not None:
            cursor = cursor.limit(limit)
        for doc in cursor:
            yield _meter_model(doc)
        return
    pipeline = [
        {'$sort': {'last_sample_id': -1}},
        {'$group': {'_id': '$counter_name', 'doc': {'$first': '$$ROOT'}}},
        {'$replaceRoot': {'newRoot': '$doc'}},
        {'$match': query},
        {'$sort': {'counter_name': 1}},
    ]
    if limit is not None:
        pipeline.append({'$limit': limit})
    for doc in coll.aggregate(pipeline, allowDiskUse=True):
        yield _meter_model(doc, unique=True)


def _resource_model(doc):
    return models.Resource(
        resource_id=doc['_id'],
        project_id=doc.get('project_id'),
        user_id=doc.get('user_id'),
        source=doc.get('source'),
        first_sample_timestamp=_time(doc.get('first_ts')),
        last_sample_timestamp=_time(doc.get('last_ts')),
        metadata=escaping.unescape_metadata(doc.get('resource_metadata') or {}),
    )


def _only_resource(f):
    return (f.user is None and f.project is None and f.source is None and f.meter is None
            and f.message_id is None and f.start_timestamp is None
            and f.end_timestamp is None and not f.metaquery)


def resources(db, sample_filter, limit):
    """Resources with at least one matching sample (§9.7).

    Without conditions on the samples the resource documents are the answer;
    otherwise one aggregation over the matching samples: min/max times and
    the owner of the newest (ties: stored last) per resource.
    """
    order = {'last_ts': -1, '_id': 1}
    if _only_resource(sample_filter):
        query = {} if sample_filter.resource is None else {'_id': sample_filter.resource}
        cursor = db[schema.RESOURCES].find(query, sort=list(order.items()))
        if limit is not None:
            cursor = cursor.limit(limit)
        for doc in cursor:
            yield _resource_model(doc)
        return
    pipeline = [
        {'$match': filters.sample_filter(sample_filter)},
        {'$sort': {'ts': -1, '_id': -1}},
        {'$group': {'_id': '$resource_id',
                    'first_ts': {'$min': '$ts'}, 'last_ts': {'$first': '$ts'},
                    'user_id': {'$first': '$user_id'},
                    'project_id': {'$first': '$project_id'},
                    'source': {'$first': '$source'},
                    'resource_metadata': {'$first': '$resource_metadata'}}},
        {'$sort': order},
    ]
    if limit is not None:
        pipeline.append({'$limit': limit})
    for doc in db[schema.SAMPLES].aggregate(pipeline, allowDiskUse=True):
        yield _resource_model(doc)


def meter_names_by_resource(db, resource_ids, project=None):
    names = {rid: set() for rid in resource_ids}
    query = {'resource_id': {'$in': list(resource_ids)}}
    if project is not None:
        query['project_id'] = None if project is storage.NULL else project
    cursor = db[schema.METERS].find(query, projection={'resource_id': 1, 'counter_name': 1})
    for doc in cursor:
        names.setdefault(doc['resource_id'], set()).add(doc['counter_name'])
    return {rid: sorted(found) for rid, found in names.items()}
