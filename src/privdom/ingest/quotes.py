"""Records out of CSV lines with every quoted cell balanced within a bound.

The csv module reads a cell that opens with `"` until the matching `"`, however far that is: one
cell ending in `"Joy` (a name typed with a stray quote) swallows every later line of the file into
one record. Here a record may span at most MAX_LINES physical lines and MAX_CHARS characters. A
record that runs past that, or to the end of the input, is rejected from its first line
(`Unbalanced`), and reading resumes at the line after it: the next line is read as the start of a
record again, so one stray quote costs one record.

Most files have no such record, and the csv reader reads them at its own speed: a record's span is
told by the reader's line count, and the end of the input by a marker line after it. Only after a
runaway record are the lines read again (from `reopen`), one by one, by a reader that keeps each
record's lines until it ends.
"""

from __future__ import annotations

import csv
import itertools
from collections import deque
from collections.abc import Callable, Iterator

# A multi-line cell (a note with line breaks) is rarely more than a few lines; an export whose
# notes run past either bound has them rejected, with the line, rather than merged into later rows.
MAX_LINES = 50
MAX_CHARS = 64 * 1024

# Fed after the last line: it comes back as a record of its own only when the csv reader is between
# records there; inside a quoted cell it becomes part of that cell. No delimiter or quote in it.
END = "PRIVDOMPARTEND"

# The input's lines again, after skipping the first `n` of them.
Reopen = Callable[[int], Iterator[str]]


class Unbalanced(list[str]):
    """A record whose quoted cell did not close in bounds; its one item is its first line."""


class EndInsideQuotes(Exception):
    """The input ended inside a quoted cell (raised only when the caller asks: `ends_between`)."""


def balanced_records(
    lines: Iterator[str],
    delimiter: str,
    first_line: int,
    reopen: Reopen,
    *,
    ends_between: bool = False,
) -> Iterator[tuple[int, list[str]]]:
    """(physical line, cells) for every record; `Unbalanced` cells for a record out of bounds.

    `first_line` is the physical line number of the first of `lines`. With `ends_between`, input
    that ends inside a quoted cell (within bounds) raises EndInsideQuotes instead: a part of a file
    cut in two, where that means the cut was in the wrong place.
    """
    reader = csv.reader(itertools.chain(lines, (END,)), delimiter=delimiter)
    before = 0
    for row in reader:
        span = reader.line_num - before
        # Per record, only these two tests: this loop runs for every record of million-row files.
        if span != 1 or len(row) == 1:
            if span == 1 and row[0] == END:
                return
            open_at_end = row[-1].endswith(END)
            size = sum(map(len, row))
            if open_at_end or span > MAX_LINES or size > MAX_CHARS:
                if open_at_end and ends_between and span - 1 <= MAX_LINES and size <= MAX_CHARS:
                    raise EndInsideQuotes(first_line + before)
                # A runaway record: reject it from its first line and read on from the next one.
                start = first_line + before
                again = reopen(before)
                first = next(again, "")
                yield start, Unbalanced([first.rstrip("\r\n")])
                yield from _careful(again, delimiter, start + 1, ends_between)
                return
        yield first_line + before, row
        before = reader.line_num


def _careful(
    lines: Iterator[str], delimiter: str, first_line: int, ends_between: bool
) -> Iterator[tuple[int, list[str]]]:
    """The records of `lines`, each record's lines kept until it ends, so that a runaway one can
    be rejected and its later lines read again as records of their own."""
    replay: deque[str] = deque()  # lines read again after a rejected record
    taken: list[str] = []  # the physical lines of the record being read
    state = {"cut": False}

    def feed() -> Iterator[str]:
        chars = 0
        while True:
            if replay:
                text = replay.popleft()
            else:
                got = next(lines, None)
                if got is None:
                    break
                text = got
            taken.append(text)
            if len(taken) > 1:
                chars += len(text)
                if len(taken) > MAX_LINES or chars > MAX_CHARS:
                    break
            else:
                chars = len(text)
            yield text
        state["cut"] = True
        yield END

    line = first_line
    while True:
        state["cut"] = False
        for row in csv.reader(feed(), delimiter=delimiter):
            if state["cut"]:
                if not taken and len(row) == 1 and row[0] == END:
                    return
                # The reader was inside a quoted cell when the input (or the bound) ended.
                spent = list(taken)
                if ends_between and len(spent) <= MAX_LINES and sum(map(len, spent)) <= MAX_CHARS:
                    raise EndInsideQuotes(line)
                yield line, Unbalanced([spent[0].rstrip("\r\n")])
                replay.extendleft(reversed(spent[1:]))
                taken.clear()
                line += 1
                break
            yield line, row
            line += len(taken)
            taken.clear()
        else:
            return
