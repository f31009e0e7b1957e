"""The example brand's plan and 7-day schedule, compared byte for byte with the committed golden files.

After an intended change, regenerate with `python tests/golden/regen.py` and review the diff.
"""

from __future__ import annotations

import json

import icalendar
import pytest

from golden.regen import ALL_OUTPUTS, GOLDEN, build_outputs


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return build_outputs(tmp_path_factory.mktemp("brand"))


@pytest.mark.parametrize("name", sorted(ALL_OUTPUTS))
def test_output_matches_the_golden_file(fresh: dict[str, str], name: str) -> None:
    expected = (GOLDEN / name).read_bytes().decode("utf-8")  # bytes: the calendar's CRLF must survive
    assert fresh[name] == expected, f"{name} changed; if intended, run python tests/golden/regen.py and review"


def test_golden_files_are_what_they_claim(fresh: dict[str, str]) -> None:
    plan = json.loads(fresh["plan.json"])
    assert plan["tasks"] and all(t["date"] == "2026-11-23" for t in plan["tasks"])
    schedule = json.loads(fresh["schedule.json"])
    calendar = icalendar.Calendar.from_ical(fresh["schedule.ics"])
    events = calendar.walk("VEVENT")
    assert events
    days = {e.decoded("dtstart").date().isoformat() for e in events}
    assert min(days) == "2026-11-23" and max(days) <= "2026-11-29"
    assert len(schedule["posts"]) == len(events)
    assert {p["uid"] for p in schedule["posts"]} == {str(e["uid"]) for e in events}
