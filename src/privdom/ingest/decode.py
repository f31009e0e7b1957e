"""Which text encoding a file is in: BOM first, then strict UTF-8, then GB18030.

GB18030 rather than GBK: it is a superset that also holds emoji and rare name characters, which
plain GBK fails on. Detection reads the file once in chunks, so memory stays flat.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from privdom.errors import PrivdomError

_CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
XLSX_MAGIC = b"PK\x03\x04"

# Encodings in which the bytes of a newline and of `"` only ever stand for those characters (never
# for part of another one): such files can be cut and counted by bytes. UTF-16 cannot.
BYTE_LINES = frozenset(
    codecs.lookup(name).name for name in ("utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "ascii")
)


def lines_are_bytes(codec: str) -> bool:
    """Whether a file in `codec` can be cut at, and counted by, the bytes of its newlines."""
    return codecs.lookup(codec).name in BYTE_LINES


class LineCount:
    """Physical lines, as the csv reader counts them (a line ends at \\n, \\r\\n or a lone \\r),
    over consecutive chunks of a file in one of the BYTE_LINES encodings."""

    def __init__(self) -> None:
        self.lines = 0
        self._after_cr = False

    def add(self, chunk: bytes) -> None:
        self.lines += chunk.count(b"\n")
        if self._after_cr and chunk.startswith(b"\n"):
            self.lines -= 1
        if cr := chunk.count(b"\r"):  # most files have none: then one pass less
            self.lines += cr - chunk.count(b"\r\n")
        self._after_cr = chunk.endswith(b"\r")


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == XLSX_MAGIC


def detect_encoding(path: Path, forced: str = "auto") -> str:
    """The codec name to open `path` with. Raises PrivdomError for an empty or binary file."""
    with path.open("rb") as f:
        head = f.read(_CHUNK)
        if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
            raise PrivdomError(f"{path} is empty", hint="export the data again; the file has no rows")
        bom = next((name for mark, name in _BOMS if head.startswith(mark)), None)
        if forced != "auto":
            return _check_codec(forced)
        if bom:
            return bom
        if b"\x00" in head:
            raise PrivdomError(
                f"{path} is not a text file (it holds binary data)",
                hint="import a CSV/TSV or XLSX export; for UTF-16 without a BOM pass --encoding utf-16-le",
            )
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        chunk = head
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = f.read(_CHUNK)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return _not_utf8(path)


# How much of a file that is not UTF-8 is read to prove it is not UTF-8 anywhere: all of it up to
# this size, streamed in chunks.
_PROOF_BYTES = 64 << 20
# Decoded with surrogateescape, bytes that are not UTF-8 become U+DC80..U+DCFF. A line with other
# non-ASCII text and none of those is UTF-8 text (a GBK line practically never is); the pattern
# is written so that it never backtracks more than once over a line.
_UTF8_LINE = re.compile("^[\x00-\x09\x0b-\x7f]*[^\x00-\x7f\udc80-\udcff][^\n\udc80-\udcff]*$", re.M)
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def _not_utf8(path: Path) -> str:
    """GB18030 for a file none of whose lines with non-ASCII text is UTF-8. A file with both kinds
    of lines (one GBK line pasted into a UTF-8 export) is an error naming the first line that is
    not UTF-8: read as either encoding, part of it would be stored garbled. (The reader then
    decodes GB18030 strictly, and names the first line that is not GB18030 either.)"""
    utf8_line = bad_line = lines = 0
    with path.open("rb") as f:
        done = 0
        while done < _PROOF_BYTES:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            chunk += f.readline()  # whole lines only
            done += len(chunk)
            text = chunk.decode("utf-8", "surrogateescape")
            if not utf8_line and (found := _UTF8_LINE.search(text)):
                utf8_line = lines + text.count("\n", 0, found.start()) + 1
            if not bad_line and (found := _NOT_UTF8.search(text)):
                bad_line = lines + text.count("\n", 0, found.start()) + 1
            if utf8_line and bad_line:
                raise PrivdomError(
                    f"{path}:{bad_line}: not utf-8 text, while line {utf8_line} is: the file mixes "
                    "utf-8 and gb18030",
                    hint="export the file again in one encoding; or choose one: --encoding utf-8 (or "
                    "gb18030) --encoding-errors replace stores that line's undecodable bytes as U+FFFD",
                )
            lines += text.count("\n")
    return "gb18030"


def _check_codec(name: str) -> str:
    try:
        info = codecs.lookup(name)
        # base64, rot13, hex, zlib... are codecs too, but of bytes to bytes: not a text's encoding.
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(name)
        return info.name
    except LookupError:
        raise PrivdomError(
            f"--encoding {name!r} is not a known encoding",
            hint="use auto, utf-8, utf-8-sig, gb18030, gbk, utf-16 ...",
        ) from None
