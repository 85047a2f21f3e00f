"""Render API documents: aligned tables (the ceilometer client's look), JSON, CSV.

Tables are for eyes (dicts and lists shown as compact JSON, long values wrapped in
show tables); ``json`` prints the API documents unchanged; ``csv`` has one header
row of wire field names so a spreadsheet or ``meterd sample-import`` can read it.
"""

import csv
import dataclasses
import json
import textwrap
import unicodedata

FORMATS = ('table', 'json', 'csv')


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: the wire field it shows, its table label, an optional value function."""
    field: str
    label: str
    get: object = None

    def value(self, obj):
        if self.get is not None:
            return self.get(obj)
        return obj.get(self.field)


def text(value):
    """Cell text: '' for None, compact JSON for containers, str otherwise."""
    if value is None:
        return ''
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return 'True' if value else 'False'
    return str(value)


def width(s):
    """Terminal cells taken by ``s`` (East Asian wide characters take two)."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)


def _pad(s, cells):
    return s + ' ' * (cells - width(s))


def table(labels, rows):
    """A framed, left-aligned table; a cell with newlines spans several lines."""
    split_rows = [[text(cell).split('\n') for cell in row] for row in rows]
    widths = [width(label) for label in labels]
    for row in split_rows:
        for i, lines in enumerate(row):
            widths[i] = max([widths[i]] + [width(line) for line in lines])
    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(cells):
        return '| ' + ' | '.join(_pad(c, w) for c, w in zip(cells, widths)) + ' |'

    out = [rule, line(labels), rule]
    for row in split_rows:
        height = max((len(lines) for lines in row), default=1)
        for k in range(height):
            out.append(line([lines[k] if k < len(lines) else '' for lines in row]))
    out.append(rule)
    return '\n'.join(out)


def render_list(objs, columns, fmt):
    """A list of API objects as ``fmt``; json keeps every field, not only the columns."""
    if fmt == 'json':
        return json.dumps(objs, indent=2, ensure_ascii=False)
    if fmt == 'csv':
        return _csv([c.field for c in columns],
                    [[_csv_cell(c.value(o)) for c in columns] for o in objs])
    return table([c.label for c in columns], [[c.value(o) for c in columns] for o in objs])


def render_object(obj, fmt, fields=None, wrap=72):
    """One API object as a Property/Value table (sorted, wrapped), JSON or a 2-row CSV."""
    if fmt == 'json':
        return json.dumps(obj, indent=2, ensure_ascii=False)
    fields = list(fields) if fields is not None else list(obj)
    if fmt == 'csv':
        return _csv(fields, [[_csv_cell(obj.get(f)) for f in fields]])
    rows = []
    for field in sorted(fields):
        value = text(obj.get(field))
        if wrap and '\n' not in value:
            value = '\n'.join(textwrap.wrap(value, wrap)) or value
        rows.append([field, value])
    return table(['Property', 'Value'], rows)


def _csv_cell(value):
    return text(value)


def _csv(header, rows):
    lines = []

    class _Sink:
        def write(self, s):
            lines.append(s)

    writer = csv.writer(_Sink(), lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    return ''.join(lines).rstrip('\n')
