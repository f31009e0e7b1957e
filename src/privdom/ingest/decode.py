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
# A line that is UTF-8 text with something beyond ASCII in it (a GBK line practically never is),
# matched on the bytes: decoding each chunk first cost four times as long (0.38 s against 0.10 s for
# a 30 MB GB18030 file, most of a first import's reading time spent before its second process starts).
# The sequences are the well-formed ones of the Unicode standard (Table 3-7), which are exactly what
# Python's strict UTF-8 decoder accepts. Searched for after a newline (each chunk is given one in
# front), so that the search jumps from line to line; no line is gone over more than twice.
_ASCII = rb"[\x00-\x09\x0b-\x7f]"
_MULTIBYTE = (
    rb"(?:[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2})"
)
_UTF8_LINE = re.compile(rb"\n" + _ASCII + rb"*" + _MULTIBYTE + rb"(?:" + _ASCII + rb"|" + _MULTIBYTE + rb")*(?=\n|\Z)")


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
            if not utf8_line and (found := _UTF8_LINE.search(b"\n" + chunk)):
                # found.start() is the newline put in front of the line: the line's offset in chunk
                utf8_line = lines + chunk.count(b"\n", 0, found.start()) + 1
            if not bad_line:
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad_line = lines + chunk.count(b"\n", 0, exc.start) + 1
            if utf8_line and bad_line:
                raise PrivdomError(
                    f"{path}:{bad_line}: not utf-8 text, while line {utf8_line} is: the file mixes "
                    "utf-8 and gb18030",
                    hint="export the file again in one encoding; or choose one: --encoding utf-8 (or "
                    "gb18030) --encoding-errors replace stores that line's undecodable bytes as U+FFFD",
                )
            lines += chunk.count(b"\n")
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
