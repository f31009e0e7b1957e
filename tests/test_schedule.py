"""`privdom schedule`: the group posting plan over several days, as json/csv/ics."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

import test_plan
from test_plan import Cli

scenario = test_plan.scenario  # the shared hand-made workspace


def schedule_json(cli: Cli, *args: str) -> dict[str, Any]:
    res = cli("schedule", *args, "--format", "json")
    assert res.exit_code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def test_schedule_over_a_span(cli: Cli, scenario: Path) -> None:
    data = schedule_json(cli, "--from", "2026-11-25", "--days", "4")
    posts = [(p["date"], p["due_at"][11:16], p["rule"], p["group_id"]) for p in data["posts"]]
    welfare_mornings = [p for p in posts if p[2] == "welfare-morning"]
    assert len(welfare_mornings) == 8  # two welfare groups x four days
    assert [p for p in posts if p[2] == "member-day"] == [
        ("2026-11-25", "11:00", "member-day", "gw1"),
        ("2026-11-25", "11:00", "member-day", "gw2"),
    ]
    assert [p for p in posts if p[2].startswith("fest")] == [
        ("2026-11-25", "20:00", "fest-warmup", "gi1"),
        ("2026-11-28", "09:00", "fest-day", "gw1"),
        ("2026-11-28", "09:00", "fest-day", "gw2"),
    ]
    assert all(p["trigger"] != "joined" for p in data["posts"])  # private tasks are not posts
    assert data["posts"] == sorted(data["posts"], key=lambda p: (p["due_at"], p["group_id"], p["rule"]))


def test_schedule_filters(cli: Cli, scenario: Path) -> None:
    one = schedule_json(cli, "--from", "2026-11-25", "--days", "2", "--group", "gw1")
    assert {p["group_id"] for p in one["posts"]} == {"gw1"}
    interest = schedule_json(cli, "--from", "2026-11-25", "--days", "2", "--type", "interest")
    assert {p["group_type"] for p in interest["posts"]} == {"interest"}
    bad = cli("schedule", "--type", "vip")
    assert bad.exit_code == 1
    assert bad.stderr.splitlines()[0] == "error: --type 'vip' is not one of welfare, service, interest"


def test_ics_parses_and_times_match(cli: Cli, scenario: Path) -> None:
    planned = schedule_json(cli, "--from", "2026-11-25", "--days", "7")["posts"]
    res = cli("schedule", "--from", "2026-11-25", "--days", "7", "--format", "ics")
    assert res.exit_code == 0, res.stderr
    cal = Calendar.from_ical(res.stdout)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = cal.walk("VEVENT")
    assert len(events) == len(planned)
    zone = ZoneInfo("Asia/Shanghai")
    for event, post in zip(events, planned, strict=True):
        start = event.decoded("DTSTART")
        assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
        assert start == datetime.fromisoformat(post["due_at"])
        assert start.astimezone(zone).strftime("%Y-%m-%d %H:%M") == post["due_at"][:16].replace("T", " ")
        assert str(event["UID"]) == post["uid"] and str(event["UID"]).endswith("@privdom")
        assert str(event["DESCRIPTION"]) == post["message"]
    first = events[0]
    assert str(first["SUMMARY"]) == "[福利群] 早安福利 · 福利1群"
    assert len({str(e["UID"]) for e in events}) == len(events)
    again = cli("schedule", "--from", "2026-11-25", "--days", "7", "--format", "ics")
    assert again.stdout == res.stdout  # stable UIDs and stamps: a calendar re-import updates in place


def test_schedule_csv_escapes_formulas(cli: Cli, scenario: Path) -> None:
    res = cli("schedule", "--from", "2026-11-25", "--days", "1", "--format", "csv")
    lines = res.stdout.splitlines()
    assert lines[0].startswith("uid,date,due_at,group_id,group_name")
    assert len(lines) > 1


def test_empty_schedule_table(cli: Cli, workspace: Path) -> None:
    res = cli("schedule", "--from", "2026-11-25", "--days", "1")
    assert res.exit_code == 0
    assert "no group posts in this span" in res.stderr
