"""The SQL schema, designed for the metering workload (spec §11 was the starting point).

Timestamps are BIGINT microseconds since the epoch (UTC): exact, cheap to
index, and period buckets become integer arithmetic in one GROUP BY.
Samples are keyed by an integer (no random-UUID unique index on the insert
path); ``meter_resources`` and ``resources`` are kept current at ingest so
listing meters and resources never scans samples (``resource_owners`` does
the same per owner for filtered resource listings).
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData()

#: JSON document column: JSONB on PostgreSQL, JSON text on SQLite.
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

meters = sa.Table(
    'meters', metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('name', sa.Text, nullable=False),
    sa.Column('type', sa.Text, nullable=False),
    sa.Column('unit', sa.Text, nullable=False),
    sa.UniqueConstraint('name', 'type', 'unit', name='uq_meters_name_type_unit'),
)

samples = sa.Table(
    'samples', metadata,
    sa.Column('id', BigId, primary_key=True, autoincrement=True),
    sa.Column('meter_id', sa.Integer, sa.ForeignKey('meters.id'), nullable=False),
    sa.Column('resource_id', sa.Text, nullable=False),
    sa.Column('user_id', sa.Text),
    sa.Column('project_id', sa.Text),
    sa.Column('source', sa.Text),
    sa.Column('volume', sa.Float, nullable=False),
    sa.Column('timestamp', sa.BigInteger, nullable=False),
    sa.Column('recorded_at', sa.BigInteger),
    sa.Column('message_id', sa.Text, nullable=False),
    sa.Column('message_signature', sa.Text),
    sa.Column('metadata', JSONDoc),
    # Every index is written on each insert. The ones led by the meter or
    # the time grow at their right edge (a few pages per batch); one led by
    # the resource is written at about two pages per sample (leaf, splits),
    # so there is one of those, covering what per-resource statistics read
    # and no wider (each text column adds ~15% to its pages). (meter, time,
    # id, ...) serves meter sample pages (newest first by (timestamp, id)),
    # the user/project groupby, cardinality and non-admin scoping of
    # statistics without table reads; (meter, time, volume) is the narrow
    # scan of time-bucketed statistics; (resource, meter, time, id, volume,
    # user) serves a resource's pages and per-resource statistics,
    # groupby=resource_id and its cardinality of users included; (time, id,
    # project) pages /v2/samples, scoped or not.
    sa.Index('ix_samples_meter_time', 'meter_id', 'timestamp', 'id', 'volume',
             'project_id', 'user_id'),
    sa.Index('ix_samples_meter_time_volume', 'meter_id', 'timestamp', 'volume'),
    sa.Index('ix_samples_resource_meter', 'resource_id', 'meter_id', 'timestamp', 'id',
             'volume', 'user_id'),
    sa.Index('ix_samples_time_project', 'timestamp', 'id', 'project_id'),
    sa.Index('ix_samples_message_id', 'message_id'),
)

#: One row per (resource, meter): the pair's most recently stored sample (§9.2).
meter_resources = sa.Table(
    'meter_resources', metadata,
    sa.Column('resource_id', sa.Text, primary_key=True),
    sa.Column('meter_id', sa.Integer, sa.ForeignKey('meters.id'), primary_key=True),
    sa.Column('user_id', sa.Text),
    sa.Column('project_id', sa.Text),
    sa.Column('source', sa.Text),
    sa.Column('metadata', JSONDoc),
    sa.Column('last_sample_id', sa.BigInteger, nullable=False),
    sa.Index('ix_meter_resources_meter', 'meter_id'),
    sa.Index('ix_meter_resources_project', 'project_id'),
)

def _latest_sample_columns():
    """Owner and metadata of the newest sample, first/last timestamps (fresh Column objects)."""
    return [
        sa.Column('user_id', sa.Text),
        sa.Column('project_id', sa.Text),
        sa.Column('source', sa.Text),
        sa.Column('metadata', JSONDoc),
        sa.Column('first_sample_timestamp', sa.BigInteger, nullable=False),
        sa.Column('last_sample_timestamp', sa.BigInteger, nullable=False),
        sa.Column('last_sample_id', sa.BigInteger, nullable=False),
    ]


#: One row per resource: first/last timestamps over all its samples, owner
#: and metadata of the sample with the greatest timestamp (§9.7).
resources = sa.Table(
    'resources', metadata,
    sa.Column('resource_id', sa.Text, primary_key=True),
    *_latest_sample_columns(),
)
# Newest first, then resource_id: the order of every resource listing (§8 [rec]).
sa.Index('ix_resources_last', resources.c.last_sample_timestamp.desc(), resources.c.resource_id)

#: One row per (resource, user, project, source): the same bookkeeping as
#: ``resources`` restricted to that owner's samples, so resource listings
#: filtered by owner (every non-admin listing) stay exact without a sample
#: scan. ``owner_key`` is the JSON list [user_id, project_id, source]: a
#: primary key column that tells a null owner from any string.
resource_owners = sa.Table(
    'resource_owners', metadata,
    sa.Column('resource_id', sa.Text, primary_key=True),
    sa.Column('owner_key', sa.Text, primary_key=True),
    *_latest_sample_columns(),
    sa.Index('ix_resource_owners_project', 'project_id', 'resource_id'),
)

#: Schema generations; ``upgrade()`` records the one it brought the database to.
schema_version = sa.Table(
    'schema_version', metadata,
    sa.Column('version', sa.Integer, primary_key=True),
)

#: 2: the wide (meter, time, resource, ...) index split in two.
#: 3: one resource-led index instead of three scattered ones (see samples).
SCHEMA_VERSION = 3

#: Indexes of earlier generations that ``upgrade()`` drops.
OBSOLETE_INDEXES = ('ix_samples_meter_timestamp', 'ix_samples_meter_resource',
                    'ix_samples_resource_meter_timestamp',
                    'ix_samples_project_meter_timestamp', 'ix_samples_timestamp')
