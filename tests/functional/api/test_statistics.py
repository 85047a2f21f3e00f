"""GET /v2/meters/{name}/statistics through the shipped pipeline on SQLite (spec §9.5)."""

import json

import pytest
import webob

from tests.conftest import ADMIN
from tests.conftest import member_headers

DAY = '2012-09-25T'


def post(app, name, samples, headers=ADMIN):
    body = []
    for s in samples:
        item = {'counter_name': name, 'counter_type': s.get('type', 'gauge'),
                'counter_unit': s.get('unit', 'instance'), 'counter_volume': s['volume'],
                'resource_id': s.get('resource', 'r1'), 'project_id': s.get('project', 'p1'),
                'user_id': s.get('user', 'u1'), 'timestamp': s['timestamp'],
                'resource_metadata': s.get('metadata', {})}
        if 'source' in s:
            item['source'] = s['source']
        body.append(item)
    app.post_json(f'/v2/meters/{name}', body, headers=headers, status=201)


def stats(app, name='m', params=(), headers=ADMIN, status=200):
    resp = app.get(f'/v2/meters/{name}/statistics', params=list(params), headers=headers,
                   status=status)
    return resp.json


def q(field, value, op='eq'):
    return [('q.field', field), ('q.op', op), ('q.value', value), ('q.type', '')]


def error(app, params, name='m', headers=ADMIN, status=400):
    body = stats(app, name, params, headers=headers, status=status)
    assert body['error_message']['faultcode'] == 'Client'
    return body['error_message']['faultstring']


@pytest.fixture
def three(app):
    """Volumes 5, 6, 7 at 10:30, 11:31, 12:32 on one resource (the §9.5 examples)."""
    post(app, 'm', [{'volume': 5, 'timestamp': DAY + '10:30:00'},
                    {'volume': 6, 'timestamp': DAY + '11:31:00'},
                    {'volume': 7, 'timestamp': DAY + '12:32:00'}])
    return app


# -- the examples of §9.5 ------------------------------------------------------


def test_no_period_is_one_entry_with_exactly_the_standard_fields(three):
    (entry,) = stats(three)
    assert entry == {
        'count': 3, 'min': 5.0, 'max': 7.0, 'sum': 18.0, 'avg': 6.0, 'unit': 'instance',
        'duration_start': DAY + '10:30:00', 'duration_end': DAY + '12:32:00',
        'duration': 7320.0, 'period': 0,
        'period_start': DAY + '10:30:00', 'period_end': DAY + '12:32:00',
        'groupby': None}


def test_hourly_period_anchors_at_the_earliest_sample(three):
    got = stats(three, params=[('period', '3600')])
    assert [e['period_start'] for e in got] == [DAY + '10:30:00', DAY + '11:30:00',
                                              DAY + '12:30:00']
    assert [e['period_end'] for e in got] == [DAY + '11:30:00', DAY + '12:30:00',
                                            DAY + '13:30:00']
    assert [e['duration_start'] for e in got] == [DAY + '10:30:00', DAY + '11:31:00',
                                                 DAY + '12:32:00']
    assert [e['count'] for e in got] == [1, 1, 1]
    assert [e['duration'] for e in got] == [0.0, 0.0, 0.0]
    assert [e['period'] for e in got] == [3600] * 3
    assert [e['sum'] for e in got] == [5.0, 6.0, 7.0]


def test_half_hour_period_omits_empty_buckets(three):
    got = stats(three, params=[('period', '1800')])
    assert [(e['period_start'], e['period_end']) for e in got] == [
        (DAY + '10:30:00', DAY + '11:00:00'), (DAY + '11:30:00', DAY + '12:00:00'),
        (DAY + '12:30:00', DAY + '13:00:00')]


def test_daily_period_is_one_bucket_ending_a_day_later(three):
    (entry,) = stats(three, params=[('period', '86400')])
    assert entry['count'] == 3
    assert entry['period_start'] == DAY + '10:30:00'
    assert entry['period_end'] == '2012-09-26T10:30:00'
    assert entry['duration'] == 7320.0


def test_lower_bound_anchors_the_buckets(three):
    got = stats(three, params=[('period', '7200')] + q('timestamp', DAY + '10:15', 'ge'))
    assert [(e['period_start'], e['period_end'], e['count']) for e in got] == [
        (DAY + '10:15:00', DAY + '12:15:00', 2), (DAY + '12:15:00', DAY + '14:15:00', 1)]
    assert got[0]['sum'] == 11.0
    assert got[0]['duration_start'] == DAY + '10:30:00'


def test_upper_bound_does_not_move_the_anchor(three):
    got = stats(three, params=[('period', '3600')] + q('timestamp', DAY + '12:00', 'lt'))
    assert [e['period_start'] for e in got] == [DAY + '10:30:00', DAY + '11:30:00']


def test_groups_share_the_anchor_of_the_whole_filter(app):
    post(app, 'm', [{'volume': 1, 'timestamp': DAY + '15:37:00', 'resource': 'R1',
                     'project': 'P'},
                    {'volume': 2, 'timestamp': DAY + '17:28:00', 'resource': 'R2',
                     'project': 'P'},
                    {'volume': 3, 'timestamp': DAY + '09:00:00', 'resource': 'R3',
                     'project': 'other'}])
    got = stats(app, params=q('project_id', 'P') + [('groupby', 'resource_id'),
                                                    ('period', '3600')])
    assert [(e['groupby'], e['period_start'], e['period_end']) for e in got] == [
        ({'resource_id': 'R1'}, DAY + '15:37:00', DAY + '16:37:00'),
        ({'resource_id': 'R2'}, DAY + '16:37:00', DAY + '17:37:00')]


def test_single_sample_and_sample_on_a_boundary_are_kept(app):
    post(app, 'm', [{'volume': 1, 'timestamp': DAY + '10:00:00'},
                    {'volume': 2, 'timestamp': DAY + '11:00:00'}])
    got = stats(app, params=[('period', '3600')])
    assert [(e['period_start'], e['count']) for e in got] == [
        (DAY + '10:00:00', 1), (DAY + '11:00:00', 1)]


# -- durations -------------------------------------------------------------------


def _clamping_data(app):
    post(app, 'm', [{'volume': 1, 'timestamp': '2012-08-27T23:55:00'},
                    {'volume': 1, 'timestamp': '2012-08-28T08:00:00'},
                    {'volume': 1, 'timestamp': '2012-08-28T18:00:00'},
                    {'volume': 1, 'timestamp': '2012-08-29T00:05:00'}])


def test_durations_are_clamped_to_the_original_bounds(app):
    _clamping_data(app)
    (entry,) = stats(app, params=q('timestamp', '2012-08-28T00:00', 'ge')
                     + q('timestamp', '2012-08-28T23:59', 'le') + q('search_offset', '10'))
    assert entry['count'] == 4
    assert entry['duration_start'] == '2012-08-28T00:00:00'
    assert entry['duration_end'] == '2012-08-28T23:59:00'
    assert entry['duration'] == 86340.0
    assert entry['period_start'] == '2012-08-27T23:55:00'
    assert entry['period_end'] == '2012-08-29T00:05:00'


def test_durations_are_null_when_clamping_crosses_them(app):
    post(app, 'm', [{'volume': 1, 'timestamp': '2012-08-27T23:55:00'}])
    (entry,) = stats(app, params=q('timestamp', '2012-08-28T00:00', 'ge')
                     + q('search_offset', '10'))
    assert entry['count'] == 1
    assert entry['duration_start'] is None
    assert entry['duration_end'] is None
    assert entry['duration'] is None
    assert entry['period_start'] == '2012-08-27T23:55:00'


def test_periodic_durations_are_clamped_per_bucket(app):
    _clamping_data(app)
    got = stats(app, params=q('timestamp', '2012-08-28T00:00', 'ge')
                + q('timestamp', '2012-08-28T23:59', 'le') + q('search_offset', '10')
                + [('period', '43200')])
    assert [(e['period_start'], e['count']) for e in got] == [
        ('2012-08-27T23:50:00', 2), ('2012-08-28T11:50:00', 1), ('2012-08-28T23:50:00', 1)]
    assert [(e['duration_start'], e['duration_end'], e['duration']) for e in got] == [
        ('2012-08-28T00:00:00', '2012-08-28T08:00:00', 28800.0),
        ('2012-08-28T18:00:00', '2012-08-28T18:00:00', 0.0),
        (None, None, None)]


# -- selectable aggregates -------------------------------------------------------


def agg(func, param=None):
    out = [('aggregate.func', func)]
    if param is not None:
        out.append(('aggregate.param', param))
    return out


@pytest.fixture
def two_two_five(app):
    post(app, 'm', [{'volume': 2, 'timestamp': DAY + '10:00:00', 'resource': 'a',
                     'user': 'u1'},
                    {'volume': 2, 'timestamp': DAY + '10:01:00', 'resource': 'b',
                     'user': 'u1'},
                    {'volume': 5, 'timestamp': DAY + '10:02:00', 'resource': 'b',
                     'user': 'u2'}])
    return app


def test_stddev_is_population_and_only_under_aggregate(two_two_five):
    (entry,) = stats(two_two_five, params=agg('stddev'))
    assert entry['aggregate'] == {'stddev': pytest.approx(1.4142135623730951)}
    for name in ('count', 'min', 'max', 'sum', 'avg'):
        assert name not in entry
    assert entry['duration'] == 120.0


def test_stddev_of_one_sample_is_zero(app):
    post(app, 'm', [{'volume': 7, 'timestamp': DAY + '10:00:00'}])
    (entry,) = stats(app, params=agg('stddev'))
    assert entry['aggregate'] == {'stddev': 0.0}


def test_stddev_of_large_close_values_is_accurate(app):
    post(app, 'm', [{'volume': 1e9 + v, 'timestamp': DAY + f'10:0{i}:00'}
                    for i, v in enumerate((1, 2, 3, 4))])
    (entry,) = stats(app, params=agg('stddev'))
    assert entry['aggregate']['stddev'] == pytest.approx(1.118033988749895, rel=1e-6)


@pytest.mark.parametrize('func,expected', [
    ('max', 5.0), ('min', 2.0), ('sum', 9.0), ('avg', 3.0)])
def test_standard_function_appears_top_level_and_under_aggregate(two_two_five, func,
                                                                 expected):
    (entry,) = stats(two_two_five, params=agg(func))
    assert entry[func] == expected
    assert entry['aggregate'] == {func: expected}
    assert set(entry) & {'count', 'min', 'max', 'sum', 'avg'} == {func}


def test_count_is_an_integer_top_level_and_a_float_under_aggregate(two_two_five):
    resp = two_two_five.get('/v2/meters/m/statistics', params=agg('count'), headers=ADMIN)
    assert '"count": 3' in resp.text
    assert '"aggregate": {"count": 3.0}' in resp.text


def test_cardinality_per_field_and_kept_per_parameter(two_two_five):
    (entry,) = stats(two_two_five, params=agg('cardinality', 'resource_id')
                     + agg('cardinality', 'user_id') + agg('cardinality', 'project_id'))
    assert entry['aggregate'] == {'cardinality/resource_id': 2.0,
                                  'cardinality/user_id': 2.0,
                                  'cardinality/project_id': 1.0}


def test_identical_aggregates_are_kept_once(two_two_five):
    (entry,) = stats(two_two_five, params=agg('cardinality', 'resource_id')
                     + agg('cardinality', 'resource_id') + agg('max') + agg('max'))
    assert entry['aggregate'] == {'cardinality/resource_id': 2.0, 'max': 5.0}


def test_aggregates_in_the_client_order_params_first(two_two_five):
    # python-ceilometerclient sends parameterised aggregates first so that
    # positional binding pairs them; the others follow without a param.
    params = [('aggregate.func', 'cardinality'), ('aggregate.param', 'resource_id'),
              ('aggregate.func', 'avg'), ('aggregate.func', 'stddev')]
    (entry,) = stats(two_two_five, params=params)
    assert entry['aggregate'] == {'cardinality/resource_id': 2.0, 'avg': 3.0,
                                  'stddev': pytest.approx(1.4142135623730951)}
    assert entry['avg'] == 3.0


def test_aggregates_with_groups_and_periods(two_two_five):
    got = stats(two_two_five, params=agg('cardinality', 'user_id') + agg('stddev')
                + [('groupby', 'resource_id'), ('period', '120')])
    assert [(e['groupby'], e['period_start'], e['aggregate']) for e in got] == [
        ({'resource_id': 'a'}, DAY + '10:00:00',
         {'stddev': 0.0, 'cardinality/user_id': 1.0}),
        ({'resource_id': 'b'}, DAY + '10:00:00',
         {'stddev': 0.0, 'cardinality/user_id': 1.0}),
        ({'resource_id': 'b'}, DAY + '10:02:00',
         {'stddev': 0.0, 'cardinality/user_id': 1.0})]


def test_positional_binding_gives_a_param_to_the_first_function(two_two_five):
    assert error(two_two_five, agg('stddev') + agg('cardinality', 'user_id')) == (
        'Bad aggregate: stddev.user_id')


# -- groupby ---------------------------------------------------------------------


@pytest.fixture
def grouped(app):
    post(app, 'm', [
        {'volume': 1, 'timestamp': DAY + '10:00:00', 'user': 'u1', 'project': 'p1',
         'resource': 'r1', 'source': 's1', 'metadata': {'instance_type': 'small',
                                                        'flavor': {'name': 'm1'}}},
        {'volume': 2, 'timestamp': DAY + '10:10:00', 'user': 'u1', 'project': 'p2',
         'resource': 'r2', 'source': 's1', 'metadata': {'instance_type': 'big'}},
        {'volume': 4, 'timestamp': DAY + '10:20:00', 'user': 'u2', 'project': 'p2',
         'resource': 'r2', 'source': 's2', 'metadata': {'instance_type': 'big',
                                                        'flavor': {'name': 'm1'}}},
        {'volume': 8, 'timestamp': DAY + '11:30:00', 'user': 'u2', 'project': 'p1',
         'resource': 'r3', 'source': 's2', 'metadata': {'instance_type': 'small'}},
    ])
    return app


def test_groupby_project_splits_sums(grouped):
    got = stats(grouped, params=[('groupby', 'project_id')])
    assert [(e['groupby'], e['count'], e['sum']) for e in got] == [
        ({'project_id': 'p1'}, 2, 9.0), ({'project_id': 'p2'}, 2, 6.0)]
    assert got[0]['period_start'] == DAY + '10:00:00'
    assert got[0]['period_end'] == DAY + '11:30:00'


def test_groupby_two_fields_and_duplicates_removed(grouped):
    got = stats(grouped, params=[('groupby', 'user_id'), ('groupby', 'resource_id'),
                                 ('groupby', 'user_id')])
    assert [(e['groupby'], e['sum']) for e in got] == [
        ({'user_id': 'u1', 'resource_id': 'r1'}, 1.0),
        ({'user_id': 'u1', 'resource_id': 'r2'}, 2.0),
        ({'user_id': 'u2', 'resource_id': 'r2'}, 4.0),
        ({'user_id': 'u2', 'resource_id': 'r3'}, 8.0)]


def test_groupby_source_uses_the_stored_prefixed_source(grouped):
    got = stats(grouped, params=[('groupby', 'source')])
    # Without a period, entries follow period_start: each group's first sample.
    assert [(e['groupby'], e['sum']) for e in got] == [
        ({'source': 'p1:s1'}, 1.0), ({'source': 'p2:s1'}, 2.0),
        ({'source': 'p2:s2'}, 4.0), ({'source': 'p1:s2'}, 8.0)]


def test_groupby_instance_type(grouped):
    got = stats(grouped, params=[('groupby', 'resource_metadata.instance_type')])
    assert [(e['groupby'], e['sum']) for e in got] == [
        ({'resource_metadata.instance_type': 'small'}, 9.0),
        ({'resource_metadata.instance_type': 'big'}, 6.0)]


def test_groupby_nested_metadata_puts_samples_without_it_in_a_null_group(grouped):
    got = stats(grouped, params=[('groupby', 'resource_metadata.flavor.name'),
                                 ('period', '86400')])
    assert [(e['groupby'], e['sum']) for e in got] == [
        ({'resource_metadata.flavor.name': None}, 10.0),
        ({'resource_metadata.flavor.name': 'm1'}, 5.0)]


def test_groupby_with_period_orders_by_period_then_group(grouped):
    got = stats(grouped, params=[('groupby', 'project_id'), ('period', '3600')])
    assert [(e['period_start'], e['groupby']['project_id'], e['sum']) for e in got] == [
        (DAY + '10:00:00', 'p1', 1.0), (DAY + '10:00:00', 'p2', 6.0),
        (DAY + '11:00:00', 'p1', 8.0)]


def test_groupby_metadata_number_is_rendered_as_text(app):
    post(app, 'm', [{'volume': 1, 'timestamp': DAY + '10:00:00', 'metadata': {'vcpus': 2}},
                    {'volume': 3, 'timestamp': DAY + '10:01:00', 'metadata': {'vcpus': 2}},
                    {'volume': 5, 'timestamp': DAY + '10:02:00', 'metadata': {'vcpus': 4}}])
    got = stats(app, params=[('groupby', 'resource_metadata.vcpus')])
    assert [(e['groupby'], e['sum']) for e in got] == [
        ({'resource_metadata.vcpus': '2'}, 4.0), ({'resource_metadata.vcpus': '4'}, 5.0)]


# -- units, filters and scoping -----------------------------------------------------


def test_units_partition_the_answer(app):
    post(app, 'm', [{'volume': 1, 'timestamp': DAY + '10:00:00', 'unit': 'B'},
                    {'volume': 2, 'timestamp': DAY + '10:01:00', 'unit': 'B',
                     'type': 'delta'},
                    {'volume': 4, 'timestamp': DAY + '09:00:00', 'unit': 'KB'}])
    got = stats(app)
    assert [(e['unit'], e['count'], e['sum']) for e in got] == [('KB', 1, 4.0),
                                                                ('B', 2, 3.0)]


def test_query_terms_filter_the_samples(grouped):
    (entry,) = stats(grouped, params=q('resource_id', 'r2')
                     + q('metadata.instance_type', 'big'))
    assert (entry['count'], entry['sum']) == (2, 6.0)
    (entry,) = stats(grouped, params=q('timestamp', DAY + '10:10', 'gt'))
    assert (entry['count'], entry['sum']) == (2, 12.0)
    assert entry['duration_start'] == DAY + '10:20:00'


def test_other_meters_are_not_counted(three):
    post(three, 'other', [{'volume': 100, 'timestamp': DAY + '09:00:00'}])
    (entry,) = stats(three, params=[('period', '3600')] + q('timestamp', DAY + '12:00',
                                                              'ge'))
    assert entry['sum'] == 7.0


def test_unknown_meter_and_no_match_are_empty(three):
    assert stats(three, name='nope') == []
    assert stats(three, params=q('resource_id', 'nope')) == []
    assert stats(three, params=[('period', '60')] + q('timestamp', '2030-01-01', 'ge')) == []


def test_dotted_meter_name(app):
    post(app, 'disk.read.bytes', [{'volume': 3, 'timestamp': DAY + '10:00:00'}])
    (entry,) = stats(app, name='disk.read.bytes')
    assert entry['sum'] == 3.0


def test_member_sees_only_its_project(grouped):
    got = stats(grouped, headers=member_headers(project='p2'),
                params=[('groupby', 'project_id')])
    assert [(e['groupby'], e['sum']) for e in got] == [({'project_id': 'p2'}, 6.0)]


def test_member_anchor_ignores_other_projects(grouped):
    got = stats(grouped, headers=member_headers(project='p2'), params=[('period', '600')])
    assert [(e['period_start'], e['sum']) for e in got] == [
        (DAY + '10:10:00', 2.0), (DAY + '10:20:00', 4.0)]


def test_member_asking_for_another_project_is_401(grouped):
    body = stats(grouped, headers=member_headers(project='p2'), params=q('project', 'p1'),
                 status=401)
    assert body['error_message']['faultstring'] == 'Not Authorized to access project p1'


def test_arguments_in_a_json_body(grouped):
    resp = grouped.request('/v2/meters/m/statistics', method='GET',
                           headers=dict(ADMIN, **{'Content-Type': 'application/json'}),
                           body=b'{"q": [{"field": "user_id", "value": "u2"}], '
                                b'"groupby": ["project_id"], "period": 7200, '
                                b'"aggregate": [{"func": "max"}]}')
    assert [(e['groupby'], e['max'], e['aggregate']) for e in resp.json] == [
        ({'project_id': 'p1'}, 8.0, {'max': 8.0}),
        ({'project_id': 'p2'}, 4.0, {'max': 4.0})]


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize('value', ['-1', '0', '-3600'])
def test_period_not_positive(three, value):
    assert error(three, [('period', value)]) == 'Period must be positive.'


def test_period_not_an_integer(three):
    assert error(three, [('period', 'abc')]) == (
        "Invalid input for field/attribute period. Value: 'abc'. unable to convert to int")


def test_absurd_period(three):
    assert error(three, [('period', '10000000000000')]) == (
        'Invalid period 10000000000000: date value out of range')


def test_period_ending_after_year_9999(app):
    post(app, 'm', [{'volume': 1, 'timestamp': '9990-01-01T00:00:00'}])
    assert error(app, [('period', '1000000000')]) == (
        'Invalid period 1000000000: date value out of range')
    (entry,) = stats(app, params=[('period', '86400')])
    assert entry['period_end'] == '9990-01-02T00:00:00'


def test_invalid_groupby(three):
    assert error(three, [('groupby', 'wtf')]) == (
        'Unknown argument: "{\'wtf\'}": Invalid groupby fields')
    assert error(three, [('groupby', 'resource_metadata.')]).endswith(
        'Invalid groupby fields')


def test_invalid_aggregation_function(three):
    assert error(three, agg('wtf')) == 'Invalid aggregation function: wtf'


def test_cardinality_needs_a_valid_field(three):
    assert error(three, agg('cardinality')) == 'Bad aggregate: cardinality.None'
    assert error(three, agg('cardinality', 'wtf')) == 'Bad aggregate: cardinality.wtf'


def test_parameter_of_a_function_without_one(three):
    assert error(three, agg('max', 'resource_id')) == 'Bad aggregate: max.resource_id'
    assert error(three, agg('stddev', 'x')) == 'Bad aggregate: stddev.x'


def test_undotted_aggregate_and_limit_are_unknown(three):
    assert error(three, [('aggregate', 'max')]) == 'Unknown argument: "aggregate"'
    assert error(three, [('limit', '5')]) == 'Unknown argument: "limit"'


def test_unknown_query_field(three):
    assert error(three, q('wtf', 'x')).startswith(
        'Unknown argument: "wtf": unrecognized field in query: [')


def test_too_many_partitions_names_the_option(make_app):
    app = make_app(api={'max_statistics_partitions': 2})
    post(app, 'm', [{'volume': 5, 'timestamp': DAY + '10:30:00'},
                    {'volume': 6, 'timestamp': DAY + '11:31:00'},
                    {'volume': 7, 'timestamp': DAY + '12:32:00'}])
    assert len(stats(app, params=[('period', '7200')])) == 2
    assert '[api] max_statistics_partitions' in error(app, [('period', '3600')])
    assert '[api] max_statistics_partitions' in error(app, [('groupby', 'resource_id'),
                                                             ('period', '1800')])


def test_too_many_periods_in_the_window_is_rejected_before_reading(make_app):
    app = make_app(api={'max_statistics_partitions': 100})
    params = [('period', '60')] + q('timestamp', '2012-01-01', 'ge') + q(
        'timestamp', '2012-01-02', 'lt')
    assert '[api] max_statistics_partitions' in error(app, params)
    assert stats(app, params=[('period', '864')] + params[1:]) == []


def test_a_large_answer_is_rendered_as_it_is_sent(app):
    """Entries beyond one chunk are streamed, not built as one list of dicts first."""
    post(app, 'm', [{'volume': i, 'resource': f'r{i:03d}', 'timestamp': DAY + '10:30:00'}
                    for i in range(400)])
    req = webob.Request.blank('/v2/meters/m/statistics?groupby=resource_id', headers=ADMIN)
    status, headers, app_iter = req.call_application(app.app)
    chunks = list(app_iter)
    assert status.startswith('200') and 'Content-Length' not in dict(headers)
    assert len(chunks) > 1  # sent as rendered, 64 KB at a time
    assert [(e['groupby'], e['max']) for e in json.loads(b''.join(chunks))] == [
        ({'resource_id': f'r{i:03d}'}, float(i)) for i in range(400)]
