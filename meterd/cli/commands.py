"""The ``meterd`` commands: their arguments, help and examples, and what each one sends.

Each command is a class with ``name``, ``help``, ``epilog``, ``add_arguments(parser)``
and ``run(client, args, out)``; main.py builds the argparse tree from ``COMMANDS``
(``sample-import`` lives with its machinery in importer.py).
Tables follow python-ceilometerclient's columns; ``-f json`` prints the API documents.
"""

import json
import math
import sys

from meterd.cli import http
from meterd.cli import importer
from meterd.cli import output
from meterd.cli import plot
from meterd.cli import query

QUERY_HELP = ('Filter: FIELD<op>VALUE terms joined by ";" (op: = != < <= > >=; a value may '
              'start with string:: integer:: float:: boolean:: datetime::). Example: '
              '"resource_id=r1;timestamp>=2026-01-01T00:00:00;metadata.flavor=string::m1.small"')
LIMIT_HELP = ('Maximum number of items to return (the server default is its [api] '
              'default_api_return_limit, 100).')

#: statistics table labels of aggregate functions (the ceilometer client's).
AGGREGATE_LABELS = {'avg': 'Avg', 'count': 'Count', 'max': 'Max', 'min': 'Min', 'sum': 'Sum',
                    'stddev': 'Standard deviation', 'cardinality': 'Cardinality'}


def add_format(parser, short=True):
    names = ('-f', '--format') if short else ('--format',)
    parser.add_argument(*names, dest='format', choices=output.FORMATS, default='table',
                        help='Output format: an aligned table (default), the API\'s JSON, '
                             'or CSV with a header row of field names.')


def add_query(parser):
    parser.add_argument('-q', '--query', metavar='QUERY', help=QUERY_HELP)


def add_limit(parser):
    parser.add_argument('-l', '--limit', metavar='NUMBER', type=int, help=LIMIT_HELP)


def query_params(args):
    try:
        return query.to_params(query.parse(args.query))
    except query.QueryError as err:
        raise http.CommandError(str(err)) from None


def limit_params(args):
    return [('limit', str(args.limit))] if args.limit is not None else []


def emit(out, textual):
    if textual:
        out.write(textual + '\n')


def col(field, label, get=None):
    return output.Column(field, label, get)


class MeterList:
    name = 'meter-list'
    help = 'List meters: one entry per (meter name, resource).'
    epilog = '''examples:
  meterd meter-list
  meterd meter-list -q "resource_id=vm-1"
  meterd meter-list --unique -f json
'''
    columns = [col('name', 'Name'), col('type', 'Type'), col('unit', 'Unit'),
               col('resource_id', 'Resource ID'), col('user_id', 'User ID'),
               col('project_id', 'Project ID')]

    def add_arguments(self, parser):
        add_query(parser)
        add_limit(parser)
        parser.add_argument('--unique', action='store_true',
                            help='One entry per distinct meter name.')
        add_format(parser)

    def run(self, client, args, out):
        params = query_params(args) + limit_params(args)
        if args.unique:
            params.append(('unique', 'True'))
        meters = client.get('/v2/meters', params=params)
        if args.format != 'json':
            meters = sorted(meters, key=lambda m: (m.get('name') or '', m.get('resource_id') or ''))
        emit(out, output.render_list(meters, self.columns, args.format))


class SampleList:
    name = 'sample-list'
    help = 'List samples, newest first (old OldSample form with -m).'
    epilog = '''examples:
  meterd sample-list -q "meter=cpu_util;resource_id=vm-1" -l 20
  meterd sample-list -m cpu_util -q "timestamp>=2026-01-01T00:00:00"   # GET /v2/meters/cpu_util
  meterd sample-list -f csv > samples.csv
'''
    new_columns = [col('id', 'ID'), col('resource_id', 'Resource ID'), col('meter', 'Name'),
                   col('type', 'Type'), col('volume', 'Volume'), col('unit', 'Unit'),
                   col('timestamp', 'Timestamp')]
    old_columns = [col('resource_id', 'Resource ID'), col('counter_name', 'Name'),
                   col('counter_type', 'Type'), col('counter_volume', 'Volume'),
                   col('counter_unit', 'Unit'), col('timestamp', 'Timestamp')]

    def add_arguments(self, parser):
        add_query(parser)
        parser.add_argument('-m', '--meter', metavar='NAME',
                            help='Samples of this meter through GET /v2/meters/NAME (the '
                                 'old sample form); without it GET /v2/samples.')
        add_limit(parser)
        add_format(parser)

    def run(self, client, args, out):
        params = query_params(args) + limit_params(args)
        if args.meter is not None:
            if not args.meter.strip():
                raise http.CommandError('--meter should not be empty')
            samples = client.get('/v2/meters/' + http.quote_segment(args.meter), params=params)
            columns = self.old_columns
        else:
            samples = client.get('/v2/samples', params=params)
            columns = self.new_columns
        emit(out, output.render_list(samples, columns, args.format))


class SampleShow:
    name = 'sample-show'
    help = 'Show one sample by its id (message id).'
    epilog = '''example:
  meterd sample-show 5f2c6b1e-0d1a-11f1-8c3e-0242ac120002
'''
    fields = ['id', 'meter', 'volume', 'type', 'unit', 'source', 'resource_id', 'user_id',
              'project_id', 'timestamp', 'recorded_at', 'metadata']

    def add_arguments(self, parser):
        parser.add_argument('sample_id', metavar='SAMPLE_ID', help='The sample id.')
        add_format(parser)

    def run(self, client, args, out):
        sample = client.get('/v2/samples/' + http.quote_segment(args.sample_id))
        emit(out, output.render_object(sample, args.format, self.fields))


def _direct_params(direct):
    if direct is None:
        return None
    if str(direct).lower() in ('1', 't', 'true', 'on', 'y', 'yes'):
        return {'direct': 'True'}
    return None


def _number(text):
    """A volume as a JSON number when it reads as one; else as given, for the API to judge."""
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _old_sample_view(sample):
    """A posted sample as the ceilometer client showed it: ``counter_`` prefixes dropped."""
    return {key[len('counter_'):] if key.startswith('counter_') else key: value
            for key, value in sample.items()}


def _json_argument(text, what):
    if text == '-':
        text = sys.stdin.read()
    elif text.startswith('@'):
        try:
            with open(text[1:], encoding='utf-8') as f:
                text = f.read()
        except OSError as err:
            raise http.CommandError(f'cannot read {what} from {text[1:]}: {err}') from None
    try:
        return json.loads(text)
    except ValueError as err:
        raise http.CommandError(f'{what} is not valid JSON: {err}') from None


class SampleCreate:
    name = 'sample-create'
    help = 'Post one sample.'
    epilog = '''examples:
  meterd sample-create -r vm-1 -m cpu_util --meter-type gauge --meter-unit % \\
      --sample-volume 12.5 --resource-metadata '{"flavor": "m1.small"}'
  meterd sample-create -r vm-1 -m net.bytes --meter-type cumulative --meter-unit B \\
      --sample-volume 1024 --timestamp 2026-01-01T10:00:00 --project-id p1
'''

    def add_arguments(self, parser):
        parser.add_argument('-r', '--resource-id', required=True, help='Resource id.')
        parser.add_argument('-m', '--meter-name', required=True, help='Meter name.')
        parser.add_argument('--meter-type', required=True,
                            help='gauge, delta or cumulative.')
        parser.add_argument('--meter-unit', required=True, help='Unit ("" for none).')
        parser.add_argument('--sample-volume', required=True, help='The value.')
        parser.add_argument('--resource-metadata', metavar='JSON',
                            help='Metadata as a JSON object, e.g. \'{"flavor": "m1.small"}\'.')
        parser.add_argument('--timestamp', help='When measured (ISO 8601; default: now).')
        parser.add_argument('--project-id', dest='sample_project_id',
                            help='Project of the sample (admins only; default: yours).')
        parser.add_argument('--user-id', dest='sample_user_id',
                            help='User of the sample (admins only; default: yours).')
        parser.add_argument('--source', help='Source (stored as "<project>:<source>").')
        parser.add_argument('--direct', nargs='?', const='True', metavar='BOOL',
                            help='Ask the server to store the sample directly.')
        add_format(parser)

    def run(self, client, args, out):
        if not args.meter_name.strip():
            raise http.CommandError('--meter-name should not be empty')
        sample = {'counter_name': args.meter_name, 'counter_type': args.meter_type,
                  'counter_unit': args.meter_unit, 'counter_volume': _number(args.sample_volume),
                  'resource_id': args.resource_id}
        for key, value in (('timestamp', args.timestamp), ('project_id', args.sample_project_id),
                           ('user_id', args.sample_user_id), ('source', args.source)):
            if value is not None:
                sample[key] = value
        if args.resource_metadata is not None:
            metadata = _json_argument(args.resource_metadata, '--resource-metadata')
            if not isinstance(metadata, dict):
                raise http.CommandError('--resource-metadata must be a JSON object, like '
                                        '\'{"foo": "bar"}\'')
            sample['resource_metadata'] = metadata
        created = client.post('/v2/meters/' + http.quote_segment(args.meter_name), [sample],
                              params=_direct_params(args.direct))
        if args.format == 'json':
            emit(out, output.render_object(created[0], 'json'))
        else:
            emit(out, output.render_object(_old_sample_view(created[0]), args.format))


class SampleCreateList:
    name = 'sample-create-list'
    help = 'Post a JSON list of samples (one request per meter).'
    epilog = '''examples:
  meterd sample-create-list '[{"counter_name": "cpu", "counter_type": "gauge",
      "counter_unit": "ns", "counter_volume": 1, "resource_id": "vm-1"}]'
  meterd sample-create-list @samples.json
  cat samples.json | meterd sample-create-list -
'''

    def add_arguments(self, parser):
        parser.add_argument('samples_list', metavar='SAMPLES_LIST',
                            help='JSON array of samples (counter_* fields), @FILE or - for '
                                 'standard input.')
        parser.add_argument('--direct', nargs='?', const='True', metavar='BOOL',
                            help='Ask the server to store the samples directly.')
        add_format(parser)

    def run(self, client, args, out):
        samples = _json_argument(args.samples_list, 'SAMPLES_LIST')
        if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
            raise http.CommandError('SAMPLES_LIST must be a JSON array of sample objects')
        by_meter = {}
        for sample in samples:
            name = sample.get('counter_name')
            if not name:
                raise http.CommandError('every sample needs a counter_name')
            by_meter.setdefault(name, []).append(sample)
        created = []
        for name, group in by_meter.items():
            created += client.post('/v2/meters/' + http.quote_segment(str(name)), group,
                                   params=_direct_params(args.direct))
        emit(out, output.render_list(created, SampleList.old_columns, args.format))


def _stat_value(key):
    def get(stat):
        if key in stat:
            return stat[key]
        return (stat.get('aggregate') or {}).get(key)
    return get


def _groupby_text(stat):
    group = stat.get('groupby')
    if not group:
        return ''
    return ', '.join(f'{k}={v}' for k, v in sorted(group.items()))


class Statistics:
    name = 'statistics'
    help = 'Statistics of a meter: per period, per group, standard or chosen aggregates.'
    epilog = '''examples:
  meterd statistics -m cpu_util
  meterd statistics -m cpu_util -p 3600 --plot \
      -q "timestamp>=2026-01-01T00:00:00;timestamp<2026-01-02T00:00:00"
  meterd statistics -m cpu_util -g resource_id -g project_id -a max -a "cardinality<-resource_id"
  meterd statistics -m cpu_util -p 3600 -a stddev --plot-png cpu.png --plot-aggregate stddev
'''

    def add_arguments(self, parser):
        parser.add_argument('-m', '--meter', required=True, metavar='NAME',
                            help='Meter to compute statistics for.')
        add_query(parser)
        parser.add_argument('-p', '--period', type=int, metavar='SECONDS',
                            help='Bucket length in seconds (default: one bucket).')
        parser.add_argument('-g', '--groupby', action='append', metavar='FIELD', default=[],
                            help='Group by user_id, project_id, resource_id, source or '
                                 'resource_metadata.<key>; repeat for several.')
        parser.add_argument('-a', '--aggregate', action='append', metavar='FUNC[<-PARAM]',
                            default=[],
                            help='Aggregate to compute instead of the standard set: '
                                 + ', '.join(AGGREGATE_LABELS)
                                 + '; cardinality takes a field: "cardinality<-resource_id". '
                                 'Repeat for several.')
        parser.add_argument('--plot', action='store_true',
                            help='Draw a terminal chart of one aggregate per period instead '
                                 'of the table.')
        parser.add_argument('--plot-png', metavar='FILE',
                            help='Also write the chart as a PNG image (needs matplotlib: pip '
                                 'install "meterd[plot]").')
        parser.add_argument('--plot-aggregate', metavar='NAME',
                            help='What to chart: avg, sum, min, max, count, stddev or '
                                 'cardinality/<field> (default: the first -a, else avg).')
        parser.add_argument('--plot-width', type=int, default=40, metavar='CELLS',
                            help='Width of the terminal bars (default 40).')
        add_format(parser)

    def run(self, client, args, out):
        if not args.meter.strip():
            raise http.CommandError('--meter should not be empty')
        try:
            aggregates = [query.parse_aggregate(a) for a in args.aggregate]
        except query.QueryError as err:
            raise http.CommandError(str(err)) from None
        params = query_params(args)
        if args.period is not None:
            params.append(('period', str(args.period)))
        params += [('groupby', g) for g in args.groupby]
        params += query.aggregate_params(aggregates)
        stats = client.get('/v2/meters/' + http.quote_segment(args.meter) + '/statistics',
                           params=params)
        keys = [f'{f}/{p}' if p else f for f, p in aggregates]
        chart_of = args.plot_aggregate or (keys[0] if keys else 'avg')
        if args.plot_png:
            try:
                plot.write_png(stats, chart_of, args.plot_png,
                               title=f'{args.meter}: {chart_of}')
            except ImportError:
                raise http.CommandError('--plot-png needs matplotlib: pip install '
                                        '"meterd[plot]"') from None
            except OSError as err:
                raise http.CommandError(f'cannot write {args.plot_png}: {err}') from None
            print(f'wrote {args.plot_png}', file=sys.stderr)
        if args.plot:
            if not stats:
                emit(out, f'no statistics for {args.meter} in this window')
            else:
                emit(out, plot.terminal_chart(stats, chart_of, cells=max(args.plot_width, 1)))
            return
        emit(out, output.render_list(stats, self.columns(args.groupby, aggregates),
                                     args.format))

    @staticmethod
    def columns(groupby, aggregates):
        cols = [col('period', 'Period'), col('period_start', 'Period Start'),
                col('period_end', 'Period End')]
        if groupby:
            cols.append(col('groupby', 'Group By', _groupby_text))
        if aggregates:
            seen = []
            for func, param in aggregates:
                key = f'{func}/{param}' if param else func
                if key not in seen:
                    seen.append(key)
                    label = key if param else AGGREGATE_LABELS.get(func, func)
                    cols.append(col(key, label, _stat_value(key)))
        else:
            cols += [col(f, AGGREGATE_LABELS[f]) for f in ('max', 'min', 'avg', 'sum', 'count')]
        cols += [col('duration', 'Duration'), col('duration_start', 'Duration Start'),
                 col('duration_end', 'Duration End')]
        return cols


def _meter_names(resource):
    return ', '.join(link.get('rel', '') for link in resource.get('links') or []
                     if link.get('rel') != 'self')


class ResourceList:
    name = 'resource-list'
    help = 'List resources, with their latest owner and source.'
    epilog = '''examples:
  meterd resource-list
  meterd resource-list -q "project_id=p1;timestamp>=2026-01-01T00:00:00" -f csv
'''
    columns = [col('resource_id', 'Resource ID'), col('source', 'Source'),
               col('user_id', 'User ID'), col('project_id', 'Project ID')]

    def add_arguments(self, parser):
        add_query(parser)
        add_limit(parser)
        add_format(parser)

    def run(self, client, args, out):
        params = query_params(args) + limit_params(args)
        if args.format != 'json':
            # Tables and CSV show no links: spare the server the per-meter lookups.
            params.append(('meter_links', '0'))
        resources = client.get('/v2/resources', params=params)
        emit(out, output.render_list(resources, self.columns, args.format))


class ResourceShow:
    name = 'resource-show'
    help = 'Show one resource: owner, source, metadata, first/last sample, meters.'
    epilog = '''example:
  meterd resource-show vm-1
'''
    fields = ['resource_id', 'source', 'user_id', 'project_id', 'metadata',
              'first_sample_timestamp', 'last_sample_timestamp', 'meters']

    def add_arguments(self, parser):
        parser.add_argument('resource_id', metavar='RESOURCE_ID', help='The resource id.')
        add_format(parser)

    def run(self, client, args, out):
        # The API decodes this path segment once more than the others (spec §9.7), so
        # ids containing "/" or "%" survive only when encoded twice.
        segment = http.quote_segment(http.quote_segment(args.resource_id))
        resource = client.get('/v2/resources/' + segment)
        if args.format != 'json':
            resource = dict(resource, meters=_meter_names(resource))
        emit(out, output.render_object(resource, args.format, self.fields))


class QuerySamples:
    name = 'query-samples'
    help = 'Complex query over samples (POST /v2/query/samples).'
    epilog = '''examples:
  meterd query-samples --filter '{"and": [{"=": {"meter": "cpu_util"}}, {">": {"volume": 80}}]}'
  meterd query-samples -f '{"=~": {"resource": "^vm-"}}' -o '[{"volume": "desc"}]' -l 5
  meterd query-samples --filter '{"in": {"project": ["p1", "p2"]}}' --format json

Operators: = != < <= > >= =~ in, combined with and / or / not. Fields: meter, type,
unit, volume, resource, project, user, source, timestamp, message_id, metadata.<key>.
'''
    columns = [col('id', 'ID'), col('resource_id', 'Resource ID'), col('meter', 'Meter'),
               col('type', 'Type'), col('volume', 'Volume'), col('unit', 'Unit'),
               col('timestamp', 'Timestamp')]

    def add_arguments(self, parser):
        parser.add_argument('-f', '--filter', metavar='FILTER',
                            help='Filter expression (JSON), e.g. \'{"=": {"meter": "cpu"}}\'.')
        parser.add_argument('-o', '--orderby', metavar='ORDERBY',
                            help='Sort order (JSON list), e.g. \'[{"timestamp": "desc"}]\'.')
        add_limit(parser)
        add_format(parser, short=False)

    def run(self, client, args, out):
        body = {}
        # Both are sent as JSON texts inside strings, as the API expects (spec §9.8).
        for name in ('filter', 'orderby'):
            value = getattr(args, name)
            if value:
                try:
                    json.loads(value)
                except ValueError as err:
                    raise http.CommandError(f'--{name} is not valid JSON: {err}') from None
                body[name] = value
        if args.limit is not None:
            body['limit'] = args.limit
        samples = client.post('/v2/query/samples', body)
        emit(out, output.render_list(samples, self.columns, args.format))


class Capabilities:
    name = 'capabilities'
    help = 'Show what the server\'s storage driver supports.'
    epilog = '''example:
  meterd capabilities -f json
'''

    def add_arguments(self, parser):
        add_format(parser)

    def run(self, client, args, out):
        caps = client.get('/v2/capabilities')
        if args.format == 'table':
            rows = [[section, '\n'.join(f'{k}: {output.text(v).lower()}'
                                        for k, v in sorted((values or {}).items()))]
                    for section, values in sorted(caps.items())]
            emit(out, output.table(['Property', 'Value'], rows))
        elif args.format == 'csv':
            flat = [{'capability': f'{section}:{k}', 'value': v}
                    for section, values in sorted(caps.items())
                    for k, v in sorted((values or {}).items())]
            emit(out, output.render_list(flat, [col('capability', 'Capability'),
                                                col('value', 'Value')], 'csv'))
        else:
            emit(out, output.render_object(caps, 'json'))


COMMANDS = [MeterList(), SampleList(), SampleShow(), SampleCreate(), SampleCreateList(),
            Statistics(), ResourceList(), ResourceShow(), QuerySamples(), Capabilities(),
            importer.SampleImport()]
