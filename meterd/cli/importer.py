"""``sample-import``: bulk-load samples from JSON lines or CSV through the API.

The file is read in windows of ``batch_size`` lines; each window's samples are posted
with one ``POST /v2/meters/<name>`` per meter (the API takes one meter per request,
and rejects a request as a whole). When a request is rejected, the other meters of
that window are still posted, then the import stops: so every line up to the end of
that window except the rejected ones is stored, and the report says exactly which
lines to fix, re-import (``--only-lines``) and where to resume (``--resume-from``).

Record fields: the wire names of a posted sample (``counter_name``, ``counter_type``,
``counter_unit``, ``counter_volume``, ``resource_id``, ``project_id``, ``user_id``,
``source``, ``timestamp``, ``resource_metadata``) or the names ``GET /v2/samples``
returns (``meter``, ``type``, ``unit``, ``volume``, ``metadata``), so an export can be
loaded back. CSV: a ``metadata``/``resource_metadata`` cell holds JSON, and
``metadata.<key>`` columns add single keys; empty cells are left out.
"""

import csv
import dataclasses
import io
import json
import os
import sys
import time

from meterd.cli import http

#: Alias -> the wire name a posted sample uses.
ALIASES = {'meter': 'counter_name', 'name': 'counter_name', 'type': 'counter_type',
           'unit': 'counter_unit', 'volume': 'counter_volume',
           'metadata': 'resource_metadata'}
#: Wire names the API accepts in a posted sample (everything else is dropped).
FIELDS = ('counter_name', 'counter_type', 'counter_unit', 'counter_volume', 'resource_id',
          'project_id', 'user_id', 'source', 'timestamp', 'resource_metadata')
#: Read-side fields a GET /v2/samples export carries that must not be posted.
IGNORED = ('id', 'message_id', 'recorded_at', 'message_signature')


class ImportFailed(http.CommandError):
    """The import stopped; the message says what was stored and how to go on."""


@dataclasses.dataclass
class Record:
    line: int
    sample: dict


@dataclasses.dataclass
class Result:
    imported: int = 0
    skipped: int = 0
    requests: int = 0
    first_line: int = None
    last_line: int = None
    seconds: float = 0.0


def detect_format(path, fmt=None):
    """``json`` or ``csv``: as given, else by file name (``.csv`` -> csv, others json)."""
    if fmt:
        return fmt
    return 'csv' if path.lower().endswith('.csv') else 'json'


def parse_lines_spec(spec):
    """``3,7-9`` -> {3, 7, 8, 9}.

    :raises http.CommandError: not a list of numbers and ranges.
    """
    lines = set()
    for part in (spec or '').split(','):
        part = part.strip()
        if not part:
            continue
        first, sep, last = part.partition('-')
        try:
            lo, hi = int(first), int(last) if sep else int(first)
        except ValueError:
            raise http.CommandError(f'invalid line list {spec!r}: expected e.g. 3,7-9') from None
        if lo < 1 or hi < lo:
            raise http.CommandError(f'invalid line range {part!r}')
        lines.update(range(lo, hi + 1))
    return lines


def format_lines(lines):
    """{3, 7, 8, 9} -> ``3,7-9``."""
    out = []
    for line in sorted(lines):
        if out and out[-1][1] == line - 1:
            out[-1][1] = line
        else:
            out.append([line, line])
    return ','.join(str(a) if a == b else f'{a}-{b}' for a, b in out)


def _normalize(raw, line):
    if not isinstance(raw, dict):
        raise ImportFailed(f'line {line}: expected a JSON object, got {type(raw).__name__}')
    sample = {}
    metadata = {}
    for key, value in raw.items():
        if key.startswith('metadata.') or key.startswith('resource_metadata.'):
            if value is not None:
                metadata[key.split('.', 1)[1]] = value
            continue
        name = ALIASES.get(key, key)
        if name in IGNORED:
            continue
        if name not in FIELDS:
            raise ImportFailed(f'line {line}: unknown field {key!r} (known: '
                               + ', '.join(FIELDS) + ')')
        sample[name] = value
    if metadata:
        base = sample.get('resource_metadata') or {}
        if not isinstance(base, dict):
            raise ImportFailed(f'line {line}: resource_metadata must be a JSON object')
        sample['resource_metadata'] = dict(base, **metadata)
    if not sample.get('counter_name'):
        raise ImportFailed(f'line {line}: no meter name (counter_name or meter)')
    return sample


def _json_records(stream):
    for number, text in enumerate(stream, start=1):
        text = text.strip()
        if not text or text.startswith('#'):
            continue
        try:
            raw = json.loads(text)
        except ValueError as err:
            raise ImportFailed(f'line {number}: not valid JSON: {err}') from None
        yield Record(number, _normalize(raw, number))


def _csv_cell(key, value):
    if key in ('metadata', 'resource_metadata'):
        try:
            return json.loads(value)
        except ValueError:
            return value  # not JSON: let the API reject it with its own message
    return value


def _csv_records(stream):
    reader = csv.DictReader(stream)
    if not reader.fieldnames:
        return
    start = 2
    for row in reader:
        line = start
        start = reader.line_num + 1
        if None in row:
            raise ImportFailed(f'line {line}: more cells than header columns')
        raw = {k: _csv_cell(k, v) for k, v in row.items() if v not in (None, '')}
        if not raw:
            continue
        yield Record(line, _normalize(raw, line))


def records(stream, fmt):
    """Records of a text stream, with their 1-based line numbers.

    :raises ImportFailed: at the first line that cannot be read as a sample.
    """
    return _csv_records(stream) if fmt == 'csv' else _json_records(stream)


def count_lines(path):
    """Lines in ``path`` (the progress bar's total); None when it cannot be counted."""
    try:
        with open(path, 'rb') as f:
            return sum(chunk.count(b'\n') for chunk in iter(lambda: f.read(1 << 20), b''))
    except OSError:
        return None


def run(client, stream, fmt, batch_size=500, resume_from=1, only_lines=None,
        progress=None, direct=False):
    """Post every record of ``stream`` from line ``resume_from`` on; return a Result.

    ``progress`` is called with the number of file lines done since its last call.

    :raises ImportFailed: a window had rejected requests (after posting the rest of it),
        or a line cannot be read (nothing of its window is posted).
    """
    result = Result()
    started = time.monotonic()
    params = {'direct': 'True'} if direct else None
    done_line = resume_from - 1
    window = []
    reader = records(stream, fmt)
    while True:
        try:
            record = next(reader, None)
        except ImportFailed as err:
            resume = window[0].line if window else None
            hint = (f' Nothing from line {resume} on was imported; fix the file and resume '
                    f'with --resume-from {resume}.' if resume else
                    ' Fix the file and resume from that line with --resume-from.')
            raise ImportFailed(f'{err}.{hint} ({result.imported} samples stored so far.)'
                               ) from None
        if record is not None:
            if record.line < resume_from or (only_lines is not None
                                              and record.line not in only_lines):
                result.skipped += 1
                continue
            window.append(record)
            if len(window) < batch_size:
                continue
        if not window:
            break
        _post_window(client, window, params, result)
        if progress is not None:
            progress(window[-1].line - done_line)
        done_line = window[-1].line
        window = []
        if record is None:
            break
    result.seconds = time.monotonic() - started
    return result


def _post_window(client, window, params, result):
    by_meter = {}
    for record in window:
        by_meter.setdefault(record.sample['counter_name'], []).append(record)
    rejected = []
    for meter, group in by_meter.items():
        try:
            client.post('/v2/meters/' + http.quote_segment(str(meter)),
                        [r.sample for r in group], params=params)
        except http.HTTPError as err:
            rejected.append((meter, group, err))
            continue
        result.requests += 1
        result.imported += len(group)
    if result.first_line is None:
        result.first_line = window[0].line
    result.last_line = window[-1].line
    if rejected:
        raise ImportFailed(_rejection_report(rejected, window, result))


def _rejection_report(rejected, window, result):
    bad = set()
    parts = []
    for meter, group, err in rejected:
        lines = {r.line for r in group}
        bad |= lines
        parts.append(f'lines {format_lines(lines)} (meter {meter!r}) rejected: '
                     f'HTTP {err.status}: {err.faultstring}')
    first, last = window[0].line, window[-1].line
    return ('; '.join(parts)
            + f'. The batch of lines {first}-{last} was otherwise imported '
            f'({result.imported} samples stored so far). Fix the rejected lines, load them '
            f'with --only-lines {format_lines(bad)}, then go on with --resume-from {last + 1}.')


def open_text(path):
    """The file as text (UTF-8, BOM tolerated), CSV-safe newlines."""
    return io.open(path, 'r', encoding='utf-8-sig', newline='')


class SampleImport:
    """The ``sample-import`` command (see commands.py for the others)."""

    name = 'sample-import'
    help = 'Bulk-load samples from a JSON-lines or CSV file, with a progress bar.'
    epilog = '''examples:
  meterd sample-import samples.jsonl
  meterd sample-import usage.csv --batch-size 1000
  meterd sample-import samples.jsonl --resume-from 120001
  meterd sample-import samples.jsonl --only-lines 503,507-509

JSON lines: one sample object per line (counter_name, counter_type, counter_unit,
counter_volume, resource_id, and optionally project_id, user_id, source, timestamp,
resource_metadata; or meter/type/unit/volume/metadata as GET /v2/samples returns them).
Blank lines and lines starting with # are skipped.
CSV: a header row with the same names; a metadata cell holds a JSON object and
metadata.KEY columns add single keys; empty cells are left out.
Each batch of lines is posted with one request per meter. When the server rejects a
request, the rest of that batch is still posted and the import stops, printing the
rejected line numbers, the server's message, and the --only-lines / --resume-from
options to finish the job once the lines are fixed.
'''

    def add_arguments(self, parser):
        parser.add_argument('file', metavar='FILE', help='JSON-lines or CSV file.')
        parser.add_argument('--input-format', choices=('json', 'csv'),
                            help='File format (default: csv for *.csv, else JSON lines).')
        parser.add_argument('--batch-size', type=int, default=500, metavar='LINES',
                            help='Lines per batch (default 500).')
        parser.add_argument('--resume-from', type=int, default=1, metavar='LINE',
                            help='Skip the lines before LINE (1-based, as reported).')
        parser.add_argument('--only-lines', metavar='LINES',
                            help='Import only these lines, e.g. 503,507-509.')
        parser.add_argument('--direct', action='store_true',
                            help='Ask the server to store samples directly.')
        parser.add_argument('--no-progress', action='store_true',
                            help='No progress bar.')

    def run(self, client, args, out):
        if args.batch_size < 1:
            raise http.CommandError('--batch-size must be at least 1')
        if args.resume_from < 1:
            raise http.CommandError('--resume-from must be at least 1')
        only = parse_lines_spec(args.only_lines) if args.only_lines else None
        fmt = detect_format(args.file, args.input_format)
        try:
            stream = open_text(args.file)
        except OSError as err:
            raise http.CommandError(f'cannot open {args.file}: {err.strerror}') from None
        bar = None
        if not args.no_progress:
            bar = _progress_bar(args.file, args.resume_from)
        try:
            result = run(client, stream, fmt, batch_size=args.batch_size,
                         resume_from=args.resume_from, only_lines=only,
                         progress=bar.update if bar else None, direct=args.direct)
        finally:
            stream.close()
            if bar is not None:
                bar.close()
        rate = result.imported / result.seconds if result.seconds > 0 else 0.0
        where = (f' (lines {result.first_line}-{result.last_line})'
                 if result.first_line is not None else '')
        out.write(f'imported {result.imported} samples{where} in {result.requests} requests, '
                  f'{result.seconds:.1f} s, {rate:.0f} samples/s\n')


def _progress_bar(path, resume_from):
    try:
        import tqdm
    except ImportError:
        return None
    total = count_lines(path)
    return tqdm.tqdm(total=total, initial=min(resume_from - 1, total or 0), unit=' samples',
                     dynamic_ncols=True, file=sys.stderr,
                     desc=os.path.basename(path), smoothing=0.1)
