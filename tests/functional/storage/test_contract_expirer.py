"""Contract: clear_expired_metering_data (meterd-expirer) on every backend.

Only the public driver API (storage/base.py) is used. Samples are placed
relative to now, hours away from the cut-off, so the run time never matters.
"""

import datetime
import uuid

from meterd import storage
from meterd.storage import models
from meterd import timestamps

HOUR = 3600
TTL = 5 * HOUR


def _ago(hours):
    return (timestamps.utcnow() - datetime.timedelta(hours=hours)).replace(microsecond=0)


def make(hours_ago, name='cpu', resource='r1', project='p1', user='u1', metadata=None):
    return models.Sample(
        source=f'{project}:openstack', counter_name=name, counter_type='gauge',
        counter_unit='%', counter_volume=1.0, user_id=user, project_id=project,
        resource_id=resource, timestamp=_ago(hours_ago), resource_metadata=metadata or {},
        message_id=str(uuid.uuid4()))


def _all_samples(conn):
    return sorted(s.message_id for s in conn.get_samples(storage.SampleFilter()))


def test_old_samples_go_and_new_ones_stay(conn):
    new, old = make(1), make(10)
    conn.record_samples([old, new])
    assert conn.clear_expired_metering_data(TTL) == 1
    assert _all_samples(conn) == [new.message_id]


def test_nothing_expires_when_every_sample_is_younger(conn):
    samples = [make(1), make(2, resource='r2')]
    conn.record_samples(samples)
    assert conn.clear_expired_metering_data(TTL) == 0
    assert _all_samples(conn) == sorted(s.message_id for s in samples)


def test_resource_left_without_samples_disappears(conn):
    conn.record_samples([make(10, resource='gone'), make(1, resource='kept')])
    conn.clear_expired_metering_data(TTL)
    assert [r.resource_id for r in conn.get_resources(storage.SampleFilter())] == ['kept']


def test_resource_with_remaining_samples_gets_its_first_timestamp_recomputed(conn):
    oldest, middle, newest = make(10), make(3), make(1)
    conn.record_samples([oldest, middle, newest])
    conn.clear_expired_metering_data(TTL)
    (resource,) = conn.get_resources(storage.SampleFilter())
    assert resource.first_sample_timestamp == middle.timestamp
    assert resource.last_sample_timestamp == newest.timestamp


def test_meters_left_without_samples_disappear(conn):
    conn.record_samples([make(10, name='retired', resource='r1'),
                         make(10, name='cpu', resource='r2'),
                         make(1, name='cpu', resource='r1')])
    conn.clear_expired_metering_data(TTL)
    meters = [(m.name, m.resource_id) for m in conn.get_meters(storage.SampleFilter())]
    assert meters == [('cpu', 'r1')]
    unique = [m.name for m in conn.get_meters(storage.SampleFilter(), unique=True)]
    assert unique == ['cpu']


def test_meter_is_redescribed_when_its_last_stored_sample_expires(conn):
    # The pair is described by its most recently *stored* sample (spec §9.2):
    # here an old one, stored after a newer one. Once it expires, the newer
    # sample describes the pair, and filters follow the description.
    conn.record_samples([make(1, project='p-new', user='u-new', metadata={'v': 'new'})])
    conn.record_samples([make(10, project='p-old', user='u-old', metadata={'v': 'old'})])
    (before,) = conn.get_meters(storage.SampleFilter())
    assert before.project_id == 'p-old'
    conn.clear_expired_metering_data(TTL)
    (after,) = conn.get_meters(storage.SampleFilter())
    assert (after.project_id, after.user_id) == ('p-new', 'u-new')
    assert list(conn.get_meters(storage.SampleFilter(project='p-old'))) == []
    assert [m.project_id for m in conn.get_meters(storage.SampleFilter(project='p-new'))] \
        == ['p-new']


def test_owner_filtered_resources_follow_the_expiry(conn):
    conn.record_samples([make(10, resource='r1', project='p-a'),
                         make(1, resource='r1', project='p-b')])
    conn.clear_expired_metering_data(TTL)
    assert list(conn.get_resources(storage.SampleFilter(project='p-a'))) == []
    (resource,) = conn.get_resources(storage.SampleFilter(project='p-b'))
    assert resource.resource_id == 'r1'


def test_expiry_is_repeatable(conn):
    conn.record_samples([make(10), make(1)])
    assert conn.clear_expired_metering_data(TTL) == 1
    assert conn.clear_expired_metering_data(TTL) == 0
    assert len(_all_samples(conn)) == 1
