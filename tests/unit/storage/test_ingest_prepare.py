"""ingest.prepare: what the posting caller computes before a batch queues for the writer."""

import datetime

import pytest

from meterd.storage import models
from meterd.storage.sqlalchemy import ingest


def sample(**changes):
    values = dict(source='p:openstack', counter_name='cpu', counter_type='gauge',
                  counter_unit='%', counter_volume=3, user_id='u', project_id='p',
                  resource_id='r', timestamp=datetime.datetime(2024, 3, 1, 0, 0, 1, 5),
                  resource_metadata={'é': {'b': 1}}, message_id='m', message_signature='s')
    values.update(changes)
    return models.Sample(**values)


def test_rows_hold_the_meter_and_the_columns_after_recorded_at():
    ((meter, values),) = ingest.prepare([sample()])
    assert meter == ('cpu', 'gauge', '%')
    assert values == ('r', 'u', 'p', 'p:openstack', 3.0, 1709251201000005, 'm', 's',
                      '{"é":{"b":1}}')
    assert ingest._SAMPLE_COLUMNS[3:] == ('resource_id', 'user_id', 'project_id', 'source',
                                          'volume', 'timestamp', 'message_id',
                                          'message_signature', 'metadata')


def test_no_metadata_is_stored_as_an_empty_object():
    ((_meter, values),) = ingest.prepare([sample(resource_metadata=None)])
    assert values[-1] == '{}'


def test_non_finite_metadata_fails_before_the_batch_queues():
    with pytest.raises(ValueError):
        ingest.prepare([sample(resource_metadata={'x': float('nan')})])


@pytest.mark.parametrize('count, sizes', [
    (0, []), (1, [1]), (32, [32]), (300, [32] * 9 + [8, 4]), (70, [32, 32, 4, 2])])
def test_rows_go_in_chunks_of_a_few_sizes(count, sizes):
    rows = list(range(count))
    chunks = list(ingest._chunks(rows))
    assert [len(c) for c in chunks] == sizes
    assert [r for c in chunks for r in c] == rows
