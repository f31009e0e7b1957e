"""Where a big CSV export can be cut in two, so that two processes each read one half.

The cut goes after a newline near the middle of the file where the number of `"` before it is even:
in a CSV file, quotes come in pairs around a quoted cell (a quote inside one is written twice), so
an even count means no quoted cell is open there. A stray quote inside an unquoted cell can still
mislead the count; the first half's reader then notices that it did not end between two records
(`reader.SplitMisread`) and the import reads the file as one part.

Only encodings in which the bytes of a newline and of `"` never occur inside another character
qualify; UTF-16 does not.
"""

from __future__ import annotations

from pathlib import Path

from privdom.ingest.decode import LineCount, lines_are_bytes
from privdom.ingest.reader import Part

_CHUNK = 1 << 20
# How far past the middle to look for a cut: a quoted cell longer than this (a note of megabytes)
# leaves the file in one part.
_SEARCH = 16 << 20


def halves(path: Path, codec: str) -> tuple[Part, Part] | None:
    """The two parts of `path`, or None when no cut was found or the encoding cannot be cut."""
    if not lines_are_bytes(codec):
        return None
    size = path.stat().st_size
    middle = size // 2
    count = LineCount()
    quotes = 0
    with path.open("rb") as f:
        done = 0
        while done < middle:
            chunk = f.read(min(_CHUNK, middle - done))
            if not chunk:
                return None
            count.add(chunk)
            quotes += chunk.count(b'"')
            done += len(chunk)
        window = f.read(_SEARCH)
    at = 0
    while (newline := window.find(b"\n", at)) >= 0:
        line = window[at : newline + 1]
        count.add(line)
        quotes += line.count(b'"')
        at = newline + 1
        if quotes % 2 == 0 and middle + at < size:
            return Part(0, middle + at), Part(middle + at, size, count.lines + 1)
    return None
