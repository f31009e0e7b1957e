"""Box-drawn tables as rich draws them, built fast when the output is plain text.

rich's Table measures, wraps and shapes every cell through its general renderable machinery, about
0.7 ms a row: seconds for the thousands of rows of a big plan. When the console writes plain text
(not a terminal, so no colours or styles, and UTF-8, so Unicode box lines), `print_table` builds the
same text from rich's own parts: its markup and emoji rendering, its cell widths, word wrapping and
box characters. Only the arithmetic that shares the console's width among the columns is repeated
here from rich's Table, for the one kind of table privdom draws (default padding and box, folding
columns without fixed widths, not expanded). On a terminal rich draws a short table, with its
styles (the header bold, the title italic); a long one (LONG rows or more: a plan's thousands) is
drawn the plain way there too, the same characters without those two styles, as rich would take
seconds. tests/test_render_table.py compares both ways on many random tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rich.box import HEAVY_HEAD
from rich.cells import set_cell_size
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "right"]
PADDING = 2  # rich's default cell padding: a space on each side
NARROWEST = PADDING + 1  # a narrower column is left to rich (never at a console width privdom uses)
# From this many rows a table is drawn without rich on a terminal too: about 0.7 ms a row in rich.
LONG = 200


# Every kind of line break, then the other control characters (a terminal runs ESC sequences).
_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Box-drawing characters: in a cell they would draw a border that is not there.
_CELL_BOX = re.compile(r"[\u2500-\u257f]")


def one_line(text: str) -> str:
    """Data as one line of plain text: a name cannot start a line or a row of its own, nor send the
    terminal an escape sequence. A line break shows as ⏎."""
    if text.isprintable():  # the common case, at a fraction of the cost
        return text
    return _CONTROL.sub("", _BREAK.sub(" ⏎ ", text))


def cell_text(value: str) -> str:
    """A title or cell as print_table draws it: one line, no box lines, text rather than markup."""
    return escape(_CELL_BOX.sub("|", one_line(value)))


@dataclass(frozen=True)
class Column:
    header: str
    justify: Justify = "left"


def print_table(out: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """Print what `out.print(rich_table(title, columns, rows))` prints; fast when `out` writes plain text.

    The title and the cells are text, not markup: they carry member names, messages and owners, and
    a name like `[/x]` must print as written, not stop the table (rich's markup would reject it).
    """
    title = cell_text(title)
    rows = [[cell_text(value) for value in row] for row in rows]
    plain = writes_plain_text(out) or (len(rows) >= LONG and draws_unicode_boxes(out))
    text = plain_table(out, title, columns, rows) if plain else None
    if text is None:
        out.print(rich_table(title, columns, rows))
    else:
        out.file.write(text)


def rich_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.header, overflow="fold", justify=column.justify)
    for row in rows:
        table.add_row(*row)
    return table


def writes_plain_text(out: Console) -> bool:
    """No styles reach the output, and the box is drawn with its own (Unicode) characters."""
    return out.color_system is None and draws_unicode_boxes(out)


def draws_unicode_boxes(out: Console) -> bool:
    return not (out.legacy_windows or out.is_jupyter or out.options.ascii_only)


@dataclass
class _Cell:
    text: Text
    size: tuple[int, int]  # its narrowest and widest layout: the longest word, the longest line


def plain_table(out: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str | None:
    """The text rich prints for the table on `out`, or None for a layout left to rich."""
    cells: dict[str, _Cell] = {}
    options = out.options

    def cell(value: str) -> _Cell:  # each distinct value once: times, stages and reasons repeat a lot
        if value not in cells:
            # rich's own markup and emoji rendering; highlighting would only add styles, unseen here
            text = out.render_str(value, highlight=False)
            size = text.__rich_measure__(out, options).normalize()
            cells[value] = _Cell(text, (size.minimum, size.maximum))
        return cells[value]

    try:
        header = [cell(c.header) for c in columns]
        body = [[cell(value) for value in row] for row in rows]
    except MarkupError:  # rich raises it too, unless the console is too narrow to draw that cell
        return None
    widths = column_widths(options.max_width, [header, *body])
    if min(widths, default=0) < NARROWEST:
        return None
    shapes = [_Shape(out, width, column.justify) for width, column in zip(widths, columns, strict=True)]
    box = HEAVY_HEAD
    head = (box.head_left, box.head_vertical, box.head_right)
    mid = (box.mid_left, box.mid_vertical, box.mid_right)
    foot = (box.foot_left, box.foot_vertical, box.foot_right)
    lines = _title(out, title, sum(widths) + len(widths) + 1)
    lines.append(box.get_top(widths))
    lines += _row(shapes, header, head, at_top=False)
    lines.append(box.get_row(widths, "head", edge=True))
    for n, row in enumerate(body, start=1):
        lines += _row(shapes, row, foot if n == len(body) else mid, at_top=True)
    lines.append(box.get_bottom(widths))
    return "\n".join(lines) + "\n"


def _title(out: Console, title: str, width: int) -> list[str]:
    """The title over the table's full width, wrapped and padded as rich does."""
    if not title:
        return []
    text = out.render_str(title, highlight=False)
    return [line.plain for line in text.wrap(out, width, justify="left", overflow="fold")]


class _Shape:
    """A column's cells as lines of its width, padding included; each distinct text wrapped once."""

    def __init__(self, out: Console, width: int, justify: Justify) -> None:
        self.out = out
        self.width = width
        self.justify: Justify = justify
        self.wrapped: dict[str, list[str]] = {}  # styles never change where a line breaks

    def lines(self, text: Text) -> list[str]:
        lines = self.wrapped.get(text.plain)
        if lines is None:
            inner = self.width - PADDING
            wrapped = text.wrap(self.out, inner, justify=self.justify, overflow="fold", tab_size=self.out.tab_size)
            lines = self.wrapped[text.plain] = [f" {set_cell_size(line.plain, inner)} " for line in wrapped]
        return lines


def _row(shapes: list[_Shape], cells: list[_Cell], edges: tuple[str, str, str], *, at_top: bool) -> list[str]:
    """The lines of one row: body cells sit at the top of a taller row, header cells at its bottom."""
    columns = [shape.lines(cell.text) for shape, cell in zip(shapes, cells, strict=True)]
    height = max(len(lines) for lines in columns)
    for i, shape in enumerate(shapes):
        missing = height - len(columns[i])
        if missing:
            blank = [" " * shape.width] * missing
            columns[i] = columns[i] + blank if at_top else blank + columns[i]
    left, divider, right = edges
    return [left + divider.join(parts) + right for parts in zip(*columns, strict=True)]


# ---------------------------------------------------------------- widths, as rich's Table works them out


def column_widths(console_width: int, rows: list[list[_Cell]]) -> list[int]:
    """Each column's width, padding included, borders not."""
    columns = [[cell.size for cell in column] for column in zip(*rows, strict=True)]
    room = console_width - (len(columns) + 1)  # the two edges and the lines between columns
    widths = [_measure_column(sizes, room)[1] or 1 for sizes in columns]
    if sum(widths) > room:
        widths = _collapse(widths, room)
        if sum(widths) > room:  # rich's last resort: take the rest evenly
            widths = _ratio_reduce(sum(widths) - room, [1] * len(widths), widths, widths)
        widths = [_measure_column(sizes, width)[1] or 0 for sizes, width in zip(columns, widths, strict=True)]
    return widths


def _measure_column(sizes: list[tuple[int, int]], room: int) -> tuple[int, int]:
    """The narrowest and widest a column of padded cells can be, given `room`."""
    if room < 1:
        return 0, 0
    measured = [_measure_cell(size, room) for size in sizes]
    low = max((low for low, _ in measured), default=1)
    high = max((high for _, high in measured), default=room)
    return min(low, room), min(high, room)


@lru_cache(maxsize=4096)  # few distinct sizes, many cells
def _measure_cell(size: tuple[int, int], room: int) -> tuple[int, int]:
    """rich's Measurement of one padded cell (Measurement.get of a Padding around the text)."""
    if room - PADDING < 1:
        low, high = room, room
    else:
        low, high = min(size[0], room), min(size[1], room)
        low, high = (0, 0) if high < 1 else _normalize(low, high)
        low, high = min(low + PADDING, room), min(high + PADDING, room)
    low, high = _normalize(low, high)
    low, high = min(low, room), min(high, room)
    return (0, 0) if high < 1 else _normalize(low, high)


def _normalize(low: int, high: int) -> tuple[int, int]:
    low = min(max(0, low), high)
    return max(0, low), max(0, low, high)


def _collapse(widths: list[int], room: int) -> list[int]:
    """Narrow the widest columns down to the next widest, and so on, until the table fits."""
    excess = sum(widths) - room
    while excess > 0:
        widest = max(widths)
        difference = widest - max((w for w in widths if w != widest), default=0)
        if not difference:
            break
        ratios = [1 if w == widest else 0 for w in widths]
        widths = _ratio_reduce(excess, ratios, [min(excess, difference)] * len(widths), widths)
        excess = sum(widths) - room
    return widths


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """Take `total` off `values` in proportion to `ratios`, at most `maximums` off each."""
    ratios = [ratio if most else 0 for ratio, most in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    out: list[int] = []
    for ratio, most, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(most, round(ratio * remaining / total_ratio))
            out.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            out.append(value)
    return out
