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
from privdom.ingest.decode import detect_encoding, is_xlsx
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
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self._closers:
            close()

    def raw(self, cells: list[str]) -> str:
        """A record as text again, for the rejects list."""
        out = io.StringIO()
        csv.writer(out, delimiter=self.delimiter or ",", lineterminator="\n").writerow(cells)
        return out.getvalue()[:-1]


class _Counting(io.RawIOBase):
    """A binary file that reports how far it has been read, for the progress bar."""

    def __init__(self, raw: IO[bytes], total: int, progress: Progress | None) -> None:
        self._raw = raw
        self._total = total
        self._done = 0
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self._done += n or 0
        if self._progress:
            self._progress(self._done, self._total)
        return int(n or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(
    path: Path, *, encoding: str = "auto", sheet: str | None = None, progress: Progress | None = None
) -> Source:
    if not path.is_file():
        raise PrivdomError(f"{path}: no such file", hint="check the path of the export")
    if path.stat().st_size == 0:
        raise PrivdomError(f"{path} is empty", hint="export the data again; the file has no rows")
    if is_xlsx(path):
        return _open_xlsx(path, sheet)
    if sheet:
        raise PrivdomError(f"--sheet {sheet!r} given but {path} is not an XLSX workbook", hint="drop --sheet")
    codec = detect_encoding(path, encoding)
    size = path.stat().st_size
    binary = io.BufferedReader(_Counting(path.open("rb"), size, progress), buffer_size=1 << 20)
    text = io.TextIOWrapper(binary, encoding=codec, errors="strict", newline="")
    try:
        first = text.readline()
        header_line = 1
        while first and not first.strip():
            first = text.readline()
            header_line += 1
    except UnicodeDecodeError as exc:
        text.close()
        raise PrivdomError(
            f"{path} is not {codec} text ({exc.reason} at byte {exc.start})",
            hint="pass the right --encoding (utf-8, gb18030, utf-16 ...)",
        ) from None
    if not first.strip():
        text.close()
        raise PrivdomError(f"{path} is empty", hint="export the data again; the file has no rows")
    delimiter = sniff_delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter))
    reader = csv.reader(text, delimiter=delimiter)

    def records() -> Iterator[tuple[int, list[str]]]:
        line = header_line + 1
        try:
            for row in reader:
                yield line, row
                line = header_line + reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise PrivdomError(
                f"{path}:{line}: not {codec} text ({exc.reason})",
                hint="pass the right --encoding (utf-8, gb18030, utf-16 ...)",
            ) from None
        except csv.Error as exc:
            raise PrivdomError(
                f"{path}:{line}: broken CSV ({exc})", hint="check the quotes on that line"
            ) from None

    return Source(header, records(), codec.replace("_", "-"), delimiter, None, progress, [text.close])


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

    def records() -> Iterator[tuple[int, list[str]]]:
        for number, values in enumerate(rows, start=first_data):
            cells = [_cell_text(v) for v in values]
            # A sheet has no field count: a short row just has empty cells at its end.
            yield number, cells + [""] * (width - len(cells))

    return Source(header, records(), "xlsx", None, ws.title, None, [book.close])


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
