"""Which text encoding a file is in: BOM first, then strict UTF-8, then GB18030.

GB18030 rather than GBK: it is a superset that also holds emoji and rare name characters, which
plain GBK fails on. Detection reads the file once in chunks, so memory stays flat.
"""

from __future__ import annotations

import codecs
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
            return "gb18030"


def _check_codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise PrivdomError(
            f"--encoding {name!r} is not a known encoding",
            hint="use auto, utf-8, utf-8-sig, gb18030, gbk, utf-16 ...",
        ) from None
