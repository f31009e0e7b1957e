"""Stream records out of a CSV/TSV or XLSX file, with the physical line each record starts on.

Nothing here holds more than one record: a million-row export reads in flat memory.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from privdom.errors import PrivdomError
from privdom.ingest.decode import LineCount, detect_encoding, is_xlsx, lines_are_bytes
from privdom.ingest.quotes import EndInsideQuotes, balanced_records
from privdom.ingest.sniff import sniff_delimiter

Progress = Callable[[int, int], None]  # (bytes done, bytes total)

# Cells can be long (quoted notes with newlines); the csv default of 128 KiB is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Source:
    """An opened export: its header and an iterator of (line, cells) for every later record."""

    header: list[str]
    records: Iterator[tuple[int, list[str]]]
    encoding: str
    delimiter: str | None = None
    sheet: str | None = None
    progress: Progress | None = None  # told of the bytes read; a worker reading the file reports here
    # XLSX: column index -> how many of its cells were numbers (an id stored as a number may have
    # lost its leading zeros before privdom saw it).
    numbers: dict[int, int] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self._closers:
            close()

    def raw(self, cells: list[str]) -> str:
        """A record as text again, for the rejects list."""
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter or ",", lineterminator="\n").writerow(cells)
        return out.getvalue()[:-1]


@dataclass(frozen=True)
class Part:
    """A byte range of a CSV export, read on its own (see `ingest.split`): from `start`, the first
    byte of a record (0 for the part with the header), to `end`; its first record is on physical
    line `first_line` (for the header's part the header decides)."""

    start: int
    end: int
    first_line: int = 0


class SplitMisread(Exception):
    """A part with the header did not end between two records: the file's quotes misled the split
    (a stray `"` inside an unquoted cell). The import is read again as one part."""


class _Counting(io.RawIOBase):
    """A binary file (from `start` up to `end`) that reports how far it has been read, for the
    progress bar."""

    def __init__(self, raw: IO[bytes], start: int, end: int, progress: Progress | None) -> None:
        self._raw = raw
        self._left = end - start
        self._total = end - start
        self._done = 0
        self._progress = progress
        if start:
            raw.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._left]
        n = int(self._raw.readinto(view) or 0)  # type: ignore[attr-defined]
        self._left -= n
        self._done += n
        if self._progress:
            self._progress(self._done, self._total)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(
    path: Path,
    *,
    encoding: str = "auto",
    sheet: str | None = None,
    progress: Progress | None = None,
    part: Part | None = None,
    errors: str = "strict",
) -> Source:
    """The header and records of an export; with `part`, only the records in that byte range of a
    CSV (progress then counts the part's bytes)."""
    check_export(path)
    if is_xlsx(path):
        return _open_xlsx(path, sheet)
    if sheet:
        raise PrivdomError(f"--sheet {sheet!r} given but {path} is not an XLSX workbook", hint="drop --sheet")
    codec = detect_encoding(path, encoding)
    if errors != "strict" and encoding == "auto":
        raise PrivdomError(
            f"--encoding-errors {errors} needs --encoding", hint="name the encoding to read the file in"
        )
    size = path.stat().st_size
    start, end, first_line = (0, size, 0) if part is None else (part.start, part.end, part.first_line)
    if start:
        # The header still comes from the top of the file; the records from `start`, where a BOM
        # is no longer in front of them.
        with _text(path, codec, 0, size, None, errors) as top:
            first, _ = _header_line(top, path, codec)
        text = _text(path, codec.removesuffix("-sig"), start, end, progress, errors)
        base = first_line
    else:
        text = _text(path, codec, 0, end, progress, errors)
        try:
            first, header_line = _header_line(text, path, codec)
        except BaseException:
            text.close()
            raise
        base = header_line + 1
    delimiter = sniff_delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter))
    bounded = end < size

    skip_header = 0 if start else base - 1  # the lines up to the header's end, read before `text`

    def reopen(lines: int) -> Iterator[str]:
        """The records' lines again, after the first `lines` of them (a runaway quoted cell)."""
        again = _text(path, codec if not start else codec.removesuffix("-sig"), start, end, None, errors)
        source._closers.append(again.close)
        for _ in range(skip_header + lines):
            if not again.readline():
                break
        return iter(again)

    def records() -> Iterator[tuple[int, list[str]]]:
        line = base
        try:
            yield from balanced_records(text, delimiter, base, reopen, ends_between=bounded)
        except EndInsideQuotes:
            raise SplitMisread(f"{path}: the part ending at byte {end} ends inside a quoted cell") from None
        except UnicodeDecodeError as exc:
            # The decoder runs ahead of the csv reader by a buffer's worth of lines.
            line = _undecodable_line(path, codec, start, base if start else 1) or line
            raise PrivdomError(
                f"{path}:{line}: not {codec} text ({exc.reason})",
                hint="pass the right --encoding (utf-8, gb18030, utf-16 ...)",
            ) from None
        except csv.Error as exc:
            raise PrivdomError(
                f"{path}: broken CSV ({exc})", hint="check the file's quotes and delimiters"
            ) from None

    source = Source(header, records(), codec.replace("_", "-"), delimiter, None, progress, {}, [text.close])
    return source


def check_export(path: Path) -> None:
    """An export is a regular file with something in it: a FIFO, a device or a folder would block
    or never end the reads (and the hash taken beside them)."""
    if not path.exists():
        raise PrivdomError(f"{path}: no such file", hint="check the path of the export")
    if not path.is_file():
        raise PrivdomError(f"{path} is not a regular file",
                           hint="give the export file itself, not a folder, a pipe or a device")
    if path.stat().st_size == 0:
        raise PrivdomError(f"{path} is empty", hint="export the data again; the file has no rows")


def _undecodable_line(path: Path, codec: str, start: int, line: int) -> int | None:
    """The physical line, counted from `line` at byte `start`, of the first bytes that are not
    `codec` text; None for an encoding whose lines cannot be told apart as bytes (UTF-16)."""
    if not lines_are_bytes(codec):
        return None
    count = LineCount()
    with path.open("rb") as f:
        f.seek(start)
        for raw in f:
            try:
                raw.decode(codec)
            except UnicodeDecodeError:
                return line + count.lines
            count.add(raw)
    return None


def _text(
    path: Path, codec: str, start: int, end: int, progress: Progress | None, errors: str = "strict"
) -> io.TextIOWrapper:
    """The file's text; `errors` is "strict" unless the operator chose `--encoding-errors replace`."""
    binary = io.BufferedReader(_Counting(path.open("rb"), start, end, progress), buffer_size=1 << 20)
    return io.TextIOWrapper(binary, encoding=codec, errors=errors, newline="")


def _header_line(text: io.TextIOWrapper, path: Path, codec: str) -> tuple[str, int]:
    """The first line that is not blank, and its line number."""
    try:
        first = text.readline()
        header_line = 1
        while first and not first.strip():
            first = text.readline()
            header_line += 1
    except UnicodeDecodeError as exc:
        raise PrivdomError(
            f"{path} is not {codec} text ({exc.reason} at byte {exc.start})",
            hint="pass the right --encoding (utf-8, gb18030, utf-16 ...)",
        ) from None
    if not first.strip():
        raise PrivdomError(f"{path} is empty", hint="export the data again; the file has no rows")
    return first, header_line


def _open_xlsx(path: Path, sheet: str | None) -> Source:
    import openpyxl  # imported here: loading it costs time that CSV imports never need

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken workbook
        raise PrivdomError(
            f"{path} is not a readable XLSX workbook ({exc})", hint="save it again as .xlsx"
        ) from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise PrivdomError(
            f"{path} has no sheet {sheet!r}", hint=f"sheets in this workbook: {', '.join(book.sheetnames)}"
        )
    ws = book[sheet] if sheet else book.worksheets[0]
    # Rows as wide as their own last cell, and no row made up for the sheet's stated size: one stray
    # cell at XFD1048576 would otherwise pad every row to 16,384 cells and the sheet to 1,048,576
    # rows (two minutes of reading an almost empty file). A row wider than the header with data
    # beyond it is still seen, and rejected, by `records`.
    ws.reset_dimensions()  # type: ignore[union-attr]
    rows = ws.iter_rows(values_only=True)
    header: list[str] | None = None
    line = 0
    for values in rows:
        line += 1
        cells = [_cell_text(v) for v in values]
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        book.close()
        raise PrivdomError(f"{path} is empty", hint="export the data again; the sheet has no rows")
    while header and not header[-1].strip():
        header.pop()
    first_data = line + 1

    width = len(header)
    numbers: dict[int, int] = {}
    blank = [""] * width

    def records() -> Iterator[tuple[int, list[str]]]:
        for number, values in enumerate(rows, start=first_data):
            if not values or not any(v is not None for v in values):  # () for a row the file skips
                yield number, blank
                continue
            cells = [_cell_text(v) for v in values]
            for index, value in enumerate(values):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    numbers[index] = numbers.get(index, 0) + 1
            # A sheet has no field count: a short row just has empty cells at its end, and a long
            # one empty cells past the header's last column (a cell with a value there is kept,
            # and the record is rejected for its field count).
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                del cells[width:]
            yield number, cells + [""] * (width - len(cells))

    return Source(header, records(), "xlsx", None, ws.title, None, numbers, [book.close])


def _cell_text(value: Any) -> str:
    """XLSX cells arrive typed; turn them into the text a CSV export of the same sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
