"""The plan's JSON and CSV, field by field, for tasks and deferred tasks with awkward text.

Tasks are plain dataclasses that pydantic serializes as part of the Plan; docs/output.md promises
the shape (a deferred task is a Task plus `cause`) and privdom's one JSON encoder (`render.dumps`:
UTF-8, indent 2) promises the text. The golden files pin the example brand's output; these pin the
escapes, the masking and the column order on text the example brand does not have.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, fields
from typing import Any

import pytest

from privdom.planner import BlockedTask, DeferredTask, Plan, Task
from privdom.render import dumps
from privdom.render import plan as render

AWKWARD = 'say "hi" \\ back\tslash\n😀 𠀀 é \x01 \u2028 end'


def task(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": "0123456789ab",
        "date": "2026-11-23",
        "due_at": "2026-11-23T10:30:00+08:00",
        "stage": "conversion",
        "rule": "winback",
        "rule_title": {"zh": "召回 " + AWKWARD, "en": "Win back"},
        "trigger": "entered_segment",
        "action": "private_message",
        "content_type": "product",
        "member_id": "00042",
        "group_id": None,
        "owner": "小茶",
        "target": "王小雨",
        "message": AWKWARD,
        "reason": "进入衰退期当天（2026-11-23）",
        "priority": 90,
        "event_date": "2026-11-23",
    }
    return {**values, **changes}


@pytest.fixture
def plan() -> Plan:
    return Plan(
        date="2026-11-23",
        timezone="Asia/Shanghai",
        tasks=[Task(**task()), Task(**task(id="ba9876543210", existing=True, status="done", group_id="g1"))],
        deferred=[
            DeferredTask(**task(id="aaaaaaaaaaaa", message="", target="13812345678", cause="owner_capacity")),
            DeferredTask(**task(id="bbbbbbbbbbbb", message="", target=AWKWARD, cause="member_cap")),
        ],
        blocked=[
            BlockedTask(**task(id="cccccccccccc", message="", cause="no interest group with room for owner 小茶")),
        ],
        summary={"by_stage": {"conversion": 2}, "deferred_by_cause": {"member_cap": 1, "owner_capacity": 1}},
        held_out=[Task(**task(id="dddddddddddd", target="13812345678", holdout=True))],
    )


def documented(plan: Plan) -> dict[str, Any]:
    """The plan as docs/output.md describes it, built from the dataclasses' own fields."""
    return {
        "date": plan.date,
        "timezone": plan.timezone,
        "tasks": [asdict(t) for t in plan.tasks],
        "deferred": [asdict(d) for d in plan.deferred],
        "blocked": [asdict(b) for b in plan.blocked],
        "summary": plan.summary,
        "held_out": [asdict(t) for t in plan.held_out],
    }


def printed(plan: Plan, fmt: str, capsys: pytest.CaptureFixture[str], show_pii: bool = True) -> str:
    render.plan(plan, fmt, show_pii)
    return capsys.readouterr().out


def test_json_is_the_documented_shape_in_the_one_encoders_text(plan: Plan, capsys: pytest.CaptureFixture[str]) -> None:
    expected = documented(plan)
    assert printed(plan, "json", capsys) == dumps(expected) + "\n"
    deferred_keys = [f.name for f in fields(Task)] + ["cause"]
    assert list(expected["deferred"][0]) == deferred_keys  # type: ignore[index]


@pytest.mark.parametrize("per_piece", [1, 2, 3, 500])
@pytest.mark.parametrize(
    "emptied", [(), ("tasks",), ("deferred",), ("tasks", "deferred"), ("blocked",), ("tasks", "deferred", "held_out")]
)
def test_json_written_in_pieces_is_the_whole_plans_json(
    plan: Plan, per_piece: int, emptied: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big plan's JSON goes out a few hundred tasks at a time; joined, the pieces are the one
    serialization of the whole plan, byte for byte, whether a list splits evenly, unevenly or is empty."""
    monkeypatch.setattr(render, "TASKS_PER_JSON_PIECE", per_piece)
    plan = plan.model_copy(
        update={
            "tasks": [] if "tasks" in emptied else plan.tasks * 3,
            "deferred": [] if "deferred" in emptied else plan.deferred * 2,
            "blocked": [] if "blocked" in emptied else plan.blocked * 2,
            "held_out": [] if "held_out" in emptied else plan.held_out * 2,
        }
    )
    pieces = list(render.plan_json(plan))
    whole = b"".join(pieces)
    assert whole == render._PLAN_JSON.dump_json(plan, indent=2)
    expected = documented(plan)
    assert whole.decode("utf-8") == dumps(expected)
    if not emptied and per_piece == 1:
        assert len(pieces) > len(plan.tasks) + len(plan.deferred)  # really written in pieces


def test_phones_in_deferred_targets_are_masked(plan: Plan, capsys: pytest.CaptureFixture[str]) -> None:
    masked = printed(plan, "json", capsys, show_pii=False)
    assert '"target": "138****5678"' in masked and "13812345678" not in masked
    assert "13812345678" in printed(plan, "csv", capsys, show_pii=True)


def test_csv_rows_follow_the_header(plan: Plan, capsys: pytest.CaptureFixture[str]) -> None:
    header, *rows = csv.reader(io.StringIO(printed(plan, "csv", capsys)))
    assert tuple(header) == render.CSV_COLUMNS
    outcomes = (
        ["task"] * len(plan.tasks) + ["deferred"] * len(plan.deferred) + ["blocked"] * len(plan.blocked)
        + ["holdout"] * len(plan.held_out)
    )
    tasks = [*plan.tasks, *plan.deferred, *plan.blocked, *plan.held_out]
    for t, row, outcome in zip(tasks, rows, outcomes, strict=True):
        cells = dict(zip(header, row, strict=True))
        values = {**asdict(t), "rule_title_zh": t.rule_title["zh"], "existing": int(t.existing), "outcome": outcome}
        values.setdefault("cause", "")
        assert cells == {k: "" if values[k] is None else str(values[k]) for k in header}
