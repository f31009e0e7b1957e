"""The encoding proof's test for a UTF-8 line is made on bytes; it must say what Python's own
UTF-8 decoder says of each line."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privdom.errors import PrivdomError
from privdom.ingest import decode

# Bytes around the edges of well-formed UTF-8 (overlong forms, surrogates, past U+10FFFF, lone
# continuation bytes, cut sequences) and GBK pairs, some of which happen to be UTF-8.
PIECES = [b"a", b",", b"\r", b"\n", "中".encode(), "张".encode("gbk"), b"\xc4\xa3", b"\xed\xa0\x80",
          b"\xed\x9f\xbf", b"\xf0\x9f\x98\x80", b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xc0\xaf",
          b"\xe0\x80\xaf", b"\xe0\xa0\x80", b"\x80", b"\xff", b"\xf0\x9f", b"\xe4"]
TEXTS = st.lists(st.sampled_from(PIECES), max_size=16).map(b"".join) | st.binary(max_size=16)


def utf8_lines(data: bytes) -> bool:
    """Whether some line is UTF-8 text beyond ASCII, asked of the decoder line by line."""
    for line in data.split(b"\n"):
        try:
            if not line.decode("utf-8").isascii():
                return True
        except UnicodeDecodeError:
            pass
    return False


@given(TEXTS)
@settings(max_examples=400, deadline=None)
def test_a_utf8_line_is_found_on_the_bytes_as_the_decoder_finds_it(data: bytes) -> None:
    assert (decode._UTF8_LINE.search(b"\n" + data) is not None) == utf8_lines(data)


@given(TEXTS)
@settings(max_examples=100, deadline=None)
def test_a_file_not_utf8_is_gb18030_unless_a_line_is_utf8(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.csv"
        path.write_bytes(b"\xd5\xc5\n" + data)  # its first line is not UTF-8
        if utf8_lines(data):
            with pytest.raises(PrivdomError, match="mixes utf-8 and gb18030"):
                decode._not_utf8(path)
        else:
            assert decode._not_utf8(path) == "gb18030"
