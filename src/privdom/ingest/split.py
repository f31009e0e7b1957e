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

import codecs
from pathlib import Path

from privdom.ingest.decode import BYTE_LINES
from privdom.ingest.reader import Part

_CHUNK = 1 << 20
# How far past the middle to look for a cut: a quoted cell longer than this (a note of megabytes)
# leaves the file in one part.
_SEARCH = 16 << 20


def halves(path: Path, codec: str) -> tuple[Part, Part] | None:
    """The two parts of `path`, or None when no cut was found or the encoding cannot be cut."""
    if codecs.lookup(codec).name not in BYTE_LINES:
        return None
    size = path.stat().st_size
    middle = size // 2
    count = _Count()
    with path.open("rb") as f:
        done = 0
        while done < middle:
            chunk = f.read(min(_CHUNK, middle - done))
            if not chunk:
                return None
            count.add(chunk)
            done += len(chunk)
        window = f.read(_SEARCH)
    at = 0
    while (newline := window.find(b"\n", at)) >= 0:
        count.add(window[at : newline + 1])
        at = newline + 1
        if count.quotes % 2 == 0 and middle + at < size:
            return Part(0, middle + at), Part(middle + at, size, count.lines + 1)
    return None


class _Count:
    """Quotes and physical lines, as the csv reader meets them (a line ends at \\n, \\r\\n or a
    lone \\r), over consecutive chunks of a file."""

    def __init__(self) -> None:
        self.quotes = 0
        self.lines = 0
        self._after_cr = False

    def add(self, chunk: bytes) -> None:
        self.quotes += chunk.count(b'"')
        self.lines += chunk.count(b"\n")
        if self._after_cr and chunk.startswith(b"\n"):
            self.lines -= 1
        if cr := chunk.count(b"\r"):  # most files have none: then one pass less
            self.lines += cr - chunk.count(b"\r\n")
        self._after_cr = chunk.endswith(b"\r")
