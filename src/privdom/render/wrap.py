"""Wrapping mixed Chinese and English text by display width, the way a reader expects.

A line may break between two Chinese characters or at a space, never inside an ASCII word, a
number, a date or a time (`Joy`, `2026-11-29`, `09:30` stay whole), and by the rules of Chinese
typesetting no line starts with closing punctuation (`，。）…`) and none ends with an opening one
(`（「【`). Widths are terminal cells: a Chinese character or an emoji takes two.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rich.cells import cell_len

# May not start a line: closing and pausing punctuation (full and half width), and marks that lean
# on the character before them.
NO_LINE_START = frozenset("，。、；：！？）」』】》〉〕］｝”’…～%‰℃,.;:!?)]}>ー–—")
# May not end a line: opening brackets and quotes.
NO_LINE_END = frozenset("（「『【《〈〔［｛“‘([{<")
ELLIPSIS = "…"
JOIN = "\u2060"  # WORD JOINER: never break here (it is dropped from the output)

# One piece that is never split: a run of visible ASCII (words, numbers, dates, times, URLs), a run
# of spaces, or one other character with the marks that join it (emoji variation selectors, ZWJ).
_PIECE = re.compile(r"[!-~]+|[ \t]+|.[\u200d\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff]*(?:\u200d.[\ufe0f]?)*", re.S)


def _units(text: str) -> list[str]:
    """The text as unbreakable units: pieces glued by the punctuation rules; spaces stay apart."""
    units: list[str] = []
    glue_next = False
    for piece in _PIECE.findall(text):
        if piece == JOIN:
            glue_next = bool(units)
            continue
        if piece.isspace():
            units.append(" ")
            glue_next = False
            continue
        if units and (glue_next or (piece[0] in NO_LINE_START and not units[-1].isspace())):
            units[-1] += piece
        elif units and piece[0] in NO_LINE_START and len(units) > 1:
            units.pop()  # `word ，` keeps the mark by the word, without the space before it
            units[-1] += piece
        else:
            units.append(piece)
        glue_next = piece[-1] in NO_LINE_END
    return units


def wrap(text: str, width: int, *, first: str = "", rest: str | None = None) -> list[str]:
    """`text` as lines of at most `width` cells, the first starting with `first`, the others with
    `rest` (as wide as `first` when not given). Newlines in `text` start new lines."""
    return list(_wrap(text, width, first, " " * cell_len(first) if rest is None else rest))


@lru_cache(maxsize=65536)  # a plan repeats its reasons and group messages many times
def _wrap(text: str, width: int, first: str, rest: str) -> tuple[str, ...]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += _wrap_paragraph(paragraph, width, first if not lines else rest, rest)
    return tuple(lines)


def _wrap_paragraph(text: str, width: int, first: str, rest: str) -> list[str]:
    lines: list[str] = []
    line, used = first, cell_len(first)
    start = True  # nothing but the indent on this line yet
    for unit in _units(text):
        if unit == " ":
            if not start:
                line, used = line + " ", used + 1
            continue
        size = cell_len(unit)
        if used + size > width and not start:
            lines.append(line.rstrip())
            line, used, start = rest, cell_len(rest), True
        if used + size > width:  # one unit wider than a whole line (a long URL): cut it by cells
            for char in unit:
                if used + cell_len(char) > width and not start:
                    carried = ""
                    # A mark takes the character before it down with it (and that one's, if a mark too).
                    while (carried or char)[0] in NO_LINE_START and len(line) > len(rest) + 1:
                        line, carried = line[:-1], line[-1] + carried
                    lines.append(line)
                    line, used = rest + carried, cell_len(rest + carried)
                line, used, start = line + char, used + cell_len(char), False
            continue
        line, used, start = line + unit, used + size, False
    lines.append(line.rstrip())
    return lines


def shorten(lines: list[str], most: int, width: int) -> list[str]:
    """At most `most` lines; when some are cut, the last kept one ends with `…` within `width`."""
    if len(lines) <= most:
        return lines
    kept = lines[:most]
    indent = len(kept[-1]) - len(kept[-1].lstrip(" "))
    units = _units(kept[-1][indent:])
    # Whole units come off, so the cut never falls inside a word or a number.
    while len(units) > 1 and indent + cell_len("".join(units)) + cell_len(ELLIPSIS) > width:
        units.pop()
    kept[-1] = kept[-1][:indent] + "".join(units).rstrip() + ELLIPSIS
    return kept
