"""The plain-text table is what rich's Table prints, character for character.

`render/table.py` rebuilds rich's output for consoles that write plain text (files, pipes); these
tests draw random tables both ways: Chinese and emoji (double width), long words that must fold,
newlines, tabs, markup and emoji codes that rich interprets, right-justified columns, and consoles
narrow enough that rich has to squeeze the columns.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.errors import MarkupError

from privdom.render.table import Column, cell_text, plain_table, print_table, rich_table

PIECES = [
    "a", "ok", "Joy", "TeaTalk", "2026-11-23", "09:30", "13812345678", "x" * 37, "长" * 23,
    "茶语", "福利群早安福利", "（原定 2026-11-21）", "，", "！", "☀️", "🎂", "💛", "👨‍👩‍👧", "é",
    " ", "  ", "\n", "\t", "\r", "\x07", "e\u0301", "\u200b", ":smile:", "[bold]粗[/bold]", "[ok]",
    "\\[not markup]", "[1]", "]", "=cmd|x", '"q"',
]
texts = st.lists(st.sampled_from(PIECES), max_size=9).map("".join)
columns = st.lists(st.builds(Column, texts, st.sampled_from(["left", "right"])), min_size=1, max_size=7)


def plain_console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, soft_wrap=False)


def rich_text(title: str, cols: list[Column], rows: list[list[str]], width: int) -> str:
    out = plain_console(width)
    out.print(rich_table(title, cols, rows))
    text = out.file.getvalue()
    assert isinstance(text, str)
    return text


@settings(max_examples=200, deadline=None)
@given(
    title=texts,
    cols=columns,
    rows=st.lists(st.lists(texts, min_size=7, max_size=7), max_size=6),
    width=st.integers(min_value=8, max_value=200),
)
def test_plain_table_is_what_rich_prints(title: str, cols: list[Column], rows: list[list[str]], width: int) -> None:
    rows = [row[: len(cols)] for row in rows]
    expected = rich_text(title, cols, rows, width)
    ours = plain_table(plain_console(width), title, cols, rows)
    assert ours is None or ours == expected
    out = plain_console(width)
    print_table(out, title, cols, rows)  # cells are text: rich's drawing of them escaped, where ours gives way too
    drawn = [[cell_text(c) for c in row] for row in rows]
    assert out.file.getvalue() == rich_text(cell_text(title), cols, drawn, width)


def test_a_plan_sized_table_is_drawn_here_not_by_rich() -> None:
    cols = [Column("时间 time"), Column("对象 target"), Column("内容 message"), Column("数量 count", "right")]
    rows = [["09:30", f"会员{n}", "早安☀️ 茶语 TeaTalk今日福利已上架：限量特价茶饮，到店或小程序下单即享！" * 2, str(n)]
            for n in range(50)]
    ours = plain_table(plain_console(160), "2026-11-23 · 小茶", cols, rows)
    assert ours is not None
    assert ours == rich_text("2026-11-23 · 小茶", cols, rows, 160)


def test_markup_rich_refuses_prints_as_written() -> None:
    """A member named "[/x]" is markup rich refuses; print_table takes its cells as text."""
    cols, rows = [Column("a"), Column("b")], [["1", "[/bold] 小茶"]]
    with pytest.raises(MarkupError):
        rich_text("", cols, rows, 160)
    assert plain_table(plain_console(160), "", cols, rows) is None  # left to rich, which refuses it
    out = plain_console(160)
    print_table(out, "", cols, rows)
    assert "[/bold] 小茶" in out.file.getvalue()


def test_a_console_too_narrow_for_a_cell_draws_what_rich_draws() -> None:
    """rich never reads a cell it has no room for (so bad markup there goes unnoticed): left to rich."""
    cols = [Column(""), Column(""), Column(""), Column(""), Column("[/bold]")]
    expected = rich_text("", cols, [], 8)
    assert plain_table(plain_console(8), "", cols, []) is None
    out = plain_console(8)
    print_table(out, "", cols, [])
    assert out.file.getvalue() == expected


def test_a_terminal_gets_rich_with_its_styles() -> None:
    out = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor")
    print_table(out, "标题", [Column("a")], [["1"]])
    assert "\x1b[" in out.file.getvalue()  # italic title, bold header: drawn by rich


def test_a_long_table_on_a_terminal_is_drawn_the_plain_way_with_the_same_characters() -> None:
    """A plan's thousands of rows: rich would take seconds on a terminal. The characters are rich's;
    only the header's bold and the title's italic are left out."""
    from privdom.render.table import LONG

    cols = [Column("时间 time"), Column("成员 member"), Column("金额", "right")]
    rows = [[f"09:{i % 60:02d}", f"会员{i} [vip]" + "长" * (i % 7), f"{i * 3}.00"] for i in range(LONG)]
    terminal = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor")
    print_table(terminal, "2026-11-23 · Joy", cols, rows)
    drawn = terminal.file.getvalue()
    assert "\x1b[" not in drawn  # written as text, not through rich's styles
    assert drawn == rich_text("2026-11-23 · Joy", cols, [[cell_text(v) for v in r] for r in rows], 80)
    short = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor")
    print_table(short, "t", cols, rows[:3])
    assert "\x1b[1m" in short.file.getvalue()  # a short table keeps rich's bold header
