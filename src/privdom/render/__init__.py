"""Output in one place: JSON, CSV and tables, with the privacy rules every format shares.

Each command family has its own module here (plan, members, ...); they all go through these
helpers so that masking and formula-injection escaping cannot be forgotten in one format.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from rich.console import Console

_MASKABLE = re.compile(r"^(\d{3})\d{4}(\d{4})$")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` -> `138****5678`; anything else is returned as it is (already masked or empty)."""
    if not phone:
        return phone
    match = _MASKABLE.match(phone)
    return f"{match.group(1)}****{match.group(2)}" if match else phone


def _masked_phone(match: re.Match[str]) -> str:
    return f"{match[1]}****{match[2]}"


def mask_text(text: str) -> str:
    """Mask every mainland mobile number inside free text (messages, names, group names)."""
    # A function replacement: a template string is parsed again on every call, which is most of
    # the cost when a plan at a million members masks a hundred thousand texts.
    return _PHONE_IN_TEXT.sub(_masked_phone, text)


# Joins many texts for one regex pass. A phone is digits only, so this separator (not a digit)
# bounds it exactly as the start and end of a text of its own do.
_TEXTS_SEPARATOR = "\x1f"


def mask_texts(texts: Sequence[str]) -> dict[int, str]:
    """`mask_text` of many texts at once: {index: masked text} for the texts it changes.

    A plan at a million members masks a hundred and fifty thousand texts and finds a phone in a
    handful: one search over them all costs a few milliseconds, a call per text a tenth of a second.
    Only the texts a phone is found in are masked, one by one."""
    joined = _TEXTS_SEPARATOR.join(texts)
    if joined.count(_TEXTS_SEPARATOR) != len(texts) - 1:  # a text holds the separator: one by one
        masked = {i: mask_text(text) for i, text in enumerate(texts)}
        return {i: text for i, text in masked.items() if text != texts[i]}
    out: dict[int, str] = {}
    index, counted_to = 0, 0
    for match in _PHONE_IN_TEXT.finditer(joined):
        # the separators before the phone tell which text holds it (counted once, left to right)
        index += joined.count(_TEXTS_SEPARATOR, counted_to, match.start())
        counted_to = match.start()
        if index not in out:
            out[index] = mask_text(texts[index])
    return out


def yuan(fen: int | None) -> str | None:
    """Integer fen -> '12.50' (money is never a float on its way out either)."""
    if fen is None:
        return None
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def csv_cell(value: Any) -> Any:
    """Escape a cell a spreadsheet would run as a formula (CSV injection): prefix it with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[str] | None = None) -> None:
    """Stream rows as CSV; nothing is held in memory, so a million members is fine."""
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(header)
    starts = frozenset(FORMULA_START)
    for row in rows:  # csv_cell inlined: a plan at a million members writes a million and a half cells
        writer.writerow(["" if v is None else ("'" + v) if isinstance(v, str) and v[:1] in starts else v for v in row])


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    """The one JSON encoder: UTF-8 text (Chinese stays readable), stable key order as given."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def print_json(data: Any, out: IO[str] | None = None) -> None:
    (out or sys.stdout).write(dumps(data) + "\n")


def write_utf8(data: bytes) -> None:
    """UTF-8 bytes to stdout: straight to its buffer when the text layer would write the same bytes
    (a UTF-8 stream that keeps line ends as they are, i.e. not Windows), else through the text layer."""
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    utf8 = codecs.lookup(getattr(out, "encoding", None) or "ascii").name == "utf-8"
    if buffer is None or not utf8 or os.linesep != "\n":
        out.write(data.decode("utf-8"))
        return
    out.flush()  # what went through the text layer first stays first
    buffer.write(data)


def console(stderr: bool = False, default_width: int = 160) -> Console:
    """A rich console as wide as the terminal it writes to (see `output_width`)."""
    return Console(stderr=stderr, width=output_width(stderr, default_width), soft_wrap=False)


def output_width(stderr: bool = False, default: int = 160) -> int | None:
    """The width to lay text out for: None (rich measures it) on a terminal; else `COLUMNS` when
    set, else the width of a terminal the user is watching on stderr (`privdom plan | less`), else
    `default` (wide tables print whole to a file)."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) >= 40:
        return int(columns)
    if not stderr and sys.stderr.isatty():
        try:
            return os.get_terminal_size(sys.stderr.fileno()).columns
        except (OSError, ValueError):
            pass
    return default
