"""Member names, messages and owners are text: rich markup in them prints as written and never
stops a table (`[/x]` alone is a markup error to rich)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from import_helpers import write
from privdom.render.table import Column, print_table

NAMES = ["[/x]坏名", "[bold]粗[/bold]", "[red]"]


@pytest.mark.parametrize("color", [False, True], ids=["plain-text", "terminal"])
def test_a_table_prints_markup_in_its_cells_as_written(color: bool) -> None:
    buffer = io.StringIO()
    out = Console(file=buffer, width=120, force_terminal=color, color_system="truecolor" if color else None)
    print_table(out, "[/x] 的任务", [Column("对象 target"), Column("内容 message")], [[n, f"你好 {n}"] for n in NAMES])
    text = buffer.getvalue()
    for name in NAMES:
        assert name in text and f"你好 {name}" in text
    assert "[/x] 的任务" in text


def test_members_and_profile_show_names_with_brackets(cli: Callable[..., Any], workspace: Path) -> None:
    write(workspace / "m.csv", ["会员卡号,客户名称,注册时间", *(f"A{i},{n},2024-01-01" for i, n in enumerate(NAMES))])
    assert cli("import", "members", str(workspace / "m.csv")).exit_code == 0
    listed = cli("members", "--date", "2026-11-23")
    assert listed.exit_code == 0, listed.stderr
    for name in NAMES:
        assert name in listed.stdout
    profile = cli("member", "A0", "--date", "2026-11-23")
    assert profile.exit_code == 0, profile.stderr
    assert "[/x]坏名" in profile.stdout


def test_saved_tasks_table_prints_a_message_with_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    from privdom.planner import SavedTask
    from privdom.render.plan import tasks

    row = SavedTask(
        task_id="abc123", due_at="2026-11-23T09:30:00+08:00", status="open", owner="[/x]小茶",
        action="private_message", member_id="A1", group_id=None, message="回复[/stop]退订", date="2026-11-23",
        stage="retention", rule="r", trigger="daily", content_type=None, event_date=None, priority=50,
        reason="", note=None, created_at="2026-11-23T08:00:00+08:00", closed_at=None, target="[/x]阿木",
    )  # fmt: skip
    tasks([row], "table", show_pii=False)
    out = capsys.readouterr().out
    assert "[/x]小茶" in out and "回复[/stop]退订" in out and "[/x]阿木" in out
