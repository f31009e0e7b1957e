"""The records of an opened export, skipped, rejected or turned into values: the reading side of an
import, with no database. `import_file` runs it on the whole file or, for a big first import, on
the first half while a second process runs it on the second half (see `worker`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from privdom.ingest.headers import normalise
from privdom.ingest.quotes import Unbalanced
from privdom.ingest.reader import Source
from privdom.ingest.report import ImportReport, Reject
from privdom.ingest.rows import RowParser
from privdom.store.imports import DEFAULTS

# Records per batch on the insert-only path: big enough that a batch's fixed costs (the member
# look-ups of orders, a statement per 500 rows) vanish, small enough that a batch stays around 10 MB.
# Measured with 500 and 1,000 as well: no faster.
DIRECT_BATCH = 10_000

# A batch of the insert-only path: the values of each record (COLUMNS order) and, for orders, the
# phone each record gave, which finds the member of an order that names none.
Batch = tuple[list[list[Any]], list[Any]]


def records(src: Source, report: ImportReport) -> Iterator[tuple[int, int, list[str]]]:
    """Every record worth parsing, as (record number, line, cells); blank rows, repeated headers and
    records that do not line up with the header are counted (and rejected) here.

    A record has exactly the header's fields. The one exception is an exporter that ends every row
    with a delimiter: when the first two records both have one empty field more than the header,
    the file is taken to be such a file, and that empty last field is dropped from each record
    (a record of that file without it, or with anything in it, is rejected like any other).
    """
    header_key = [normalise(c) for c in src.header]
    # Cheap first test for a repeated header: its first cell as written, or as normalised.
    header_first = {src.header[0], src.header[0].strip(), header_key[0]}
    width = len(src.header)
    rows = iter(src.records)
    ahead = list(itertools.islice(rows, 2))
    trailing = len(ahead) == 2 and all(len(r) == width + 1 and not r[width].strip() for _, r in ahead)
    wide = width + 1 if trailing else width
    record = 0
    for line, row in itertools.chain(ahead, rows):
        record += 1
        if type(row) is Unbalanced:
            reject_text(report, record, line, row[0], "unbalanced_quote")
            continue
        if len(row) != wide or (trailing and row[width].strip()):
            if not "".join(row).strip():
                report.blank += 1
            else:
                reject(src, report, record, line, row, "field_count")
            continue
        if trailing:
            del row[width]
        first = row[0]
        if first[:1] == "\ufeff":
            # Files joined with `cat` keep the second file's byte-order mark in front of its header.
            first = row[0] = first[1:]
        if not first or first.isspace() or first in header_first:
            if not "".join(row).strip():
                report.blank += 1
                continue
            if first in header_first and [normalise(c) for c in row] == header_key:
                report.repeated_headers += 1
                continue
        yield record, line, row
    report.read = record


def reject(src: Source, report: ImportReport, record: int, line: int, row: list[str], reason: str) -> None:
    reject_text(report, record, line, src.raw(row), reason)


def reject_text(report: ImportReport, record: int, line: int, raw: str, reason: str) -> None:
    report.rejects.append(Reject(record=record, line=line, reason=reason, raw=raw))


def value_batches(src: Source, parser: RowParser, report: ImportReport) -> Iterator[Batch]:
    """The insert-only path's records, as batches of values ready for the table."""
    orders = report.kind == "orders"
    values = parser.values
    # NOT NULL columns a record may leave empty, filled as the staged path fills them.
    defaults = [(parser.pos[c], v) for c, v in DEFAULTS.items() if c in parser.pos]
    rows: list[list[Any]] = []
    phones: list[Any] = []
    for record, line, row in records(src, report):
        vals = values(row)
        if isinstance(vals, str):
            reject(src, report, record, line, row, vals)
            continue
        if orders:
            phones.append(vals.pop())
        for at, default in defaults:
            if vals[at] is None:
                vals[at] = default
        rows.append(vals)
        if len(rows) >= DIRECT_BATCH:
            yield rows, phones
            rows, phones = [], []
    if rows:
        yield rows, phones
