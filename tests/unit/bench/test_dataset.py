"""The benchmark dataset: its shape, its realism and that a seed fixes every byte."""

import collections
import datetime
import itertools
import json

import pytest

from tools.bench import dataset


def small(seed=42, resources=7, samples_per_pair=5):
    return dataset.Dataset(seed=seed, resources=resources, samples_per_pair=samples_per_pair,
                           projects=3, users=5)


def all_samples(data, size=100):
    return [(meter, s) for meter, batch in data.batches(size) for s in batch]


def test_full_scale_shape_is_1000_resources_x_10_meters_x_100_samples():
    data = dataset.Dataset.from_scale(1_000_000)
    assert (data.resources, len(dataset.METERS), data.samples_per_pair) == (1000, 10, 100)
    assert data.total == 1_000_000
    assert data.samples_per_meter == 100_000
    assert (data.projects, data.users, data.days) == (50, 200, 30)
    assert data.batch_count(100) == 10_000


def test_scale_keeps_the_shape_with_fewer_resources():
    data = dataset.Dataset.from_scale(100_000)
    assert (data.resources, data.samples_per_pair, data.total) == (100, 100, 100_000)


@pytest.mark.parametrize('scale', [0, -1000, 1500, 999])
def test_scale_must_be_a_positive_multiple_of_1000(scale):
    with pytest.raises(ValueError, match='multiple of 1000'):
        dataset.Dataset.from_scale(scale)


def test_batches_cover_every_pair_and_step_once():
    data = small()
    samples = all_samples(data, size=3)
    assert len(samples) == data.total == 7 * 10 * 5
    keys = collections.Counter((s['resource_id'], meter, s['timestamp'])
                               for meter, s in samples)
    assert len(keys) == data.total
    per_meter = collections.Counter(meter for meter, _ in samples)
    assert per_meter == {name: data.samples_per_meter for name in dataset.METER_NAMES}
    assert data.batch_count(3) == len(list(data.batches(3)))


def test_a_batch_carries_one_meter_and_at_most_size_samples():
    for meter, batch in small(resources=250, samples_per_pair=1).batches(100):
        assert 1 <= len(batch) <= 100
        assert {s['counter_name'] for s in batch} == {meter}


def test_samples_have_the_post_body_form_with_realistic_types_and_units():
    types = {name: (type_, unit) for name, type_, unit in dataset.METERS}
    assert types['cpu_util'] == ('gauge', '%')
    assert types['cpu'] == ('cumulative', 'ns')
    assert types['disk.read.bytes'] == ('cumulative', 'B')
    for meter, s in all_samples(small()):
        assert set(s) == {'counter_name', 'counter_type', 'counter_unit', 'counter_volume',
                          'resource_id', 'project_id', 'user_id', 'timestamp',
                          'resource_metadata'}
        assert (s['counter_type'], s['counter_unit']) == types[meter]
        assert isinstance(s['counter_volume'], float) and s['counter_volume'] >= 0
        if meter == 'cpu_util':
            assert 0 <= s['counter_volume'] <= 100


def test_timestamps_span_the_30_day_window():
    data = small(samples_per_pair=100, resources=3)
    stamps = [datetime.datetime.fromisoformat(s['timestamp']) for _, s in all_samples(data)]
    assert min(stamps) >= data.start
    assert max(stamps) < data.end == data.start + datetime.timedelta(days=30)
    assert max(stamps) - min(stamps) > datetime.timedelta(days=29)


def test_cumulative_meters_grow_monotonically_per_resource():
    data = small(samples_per_pair=40)
    series = collections.defaultdict(list)
    for meter, s in all_samples(data):
        if s['counter_type'] == 'cumulative':
            series[(meter, s['resource_id'])].append((s['timestamp'], s['counter_volume']))
    assert len(series) == 7 * 5
    for points in series.values():
        volumes = [v for _, v in sorted(points)]
        assert volumes == sorted(volumes) and len(set(volumes)) == len(volumes)


def test_metadata_is_about_200_bytes_with_the_nova_keys():
    sizes = []
    for _, s in all_samples(small()):
        meta = s['resource_metadata']
        assert set(meta) == {'display_name', 'flavor', 'image_ref', 'state', 'host',
                             'instance_type'}
        assert set(meta['flavor']) == {'name', 'vcpus', 'ram'}
        assert meta['instance_type'] == meta['flavor']['name']
        sizes.append(len(json.dumps(meta)))
    assert 170 <= sum(sizes) / len(sizes) <= 230


def test_projects_and_users_are_distributed_and_users_stay_in_one_project():
    data = dataset.Dataset.from_scale(1_000_000)
    table = data.resource_table()
    assert len({r.resource_id for r in table}) == 1000
    assert len({r.project_id for r in table}) == 50
    assert len({r.user_id for r in table}) == 200
    projects_of_user = collections.defaultdict(set)
    for r in table:
        projects_of_user[r.user_id].add(r.project_id)
    assert all(len(p) == 1 for p in projects_of_user.values())


def test_same_seed_gives_identical_bodies():
    first = [json.dumps(b) for b in itertools.islice(small().batches(4), 12)]
    again = [json.dumps(b) for b in itertools.islice(small().batches(4), 12)]
    assert first == again


def test_another_seed_gives_other_data():
    one = json.dumps(list(itertools.islice(small(seed=1).batches(4), 3)))
    two = json.dumps(list(itertools.islice(small(seed=2).batches(4), 3)))
    assert one != two


def test_a_sample_does_not_depend_on_generation_order():
    data = small()
    table = data.resource_table()
    direct = data.sample(table[4], 2, 3)
    from_batches = [s for meter, batch in data.batches(100) for s in batch
                    if meter == dataset.METER_NAMES[2]
                    and s['resource_id'] == table[4].resource_id][3]
    assert direct == from_batches
