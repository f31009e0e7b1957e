"""The marketing calendar: lunar festivals from lunar_python, solar and weekly nodes from the playbook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from lunar_python import Lunar

from privdom.calendar import marketing_nodes, nodes_due
from privdom.playbook import load_playbook
from privdom.playbook.models import Playbook


def _lunar(year: int, month: int, day: int) -> str:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return f"{solar.getYear():04d}-{solar.getMonth():02d}-{solar.getDay():02d}"


def test_two_years_of_nodes(cli: Callable[..., Any], workspace: Any) -> None:
    res = cli("calendar", "--from", "2026-01-01", "--days", "730", "--format", "json")
    assert res.exit_code == 0, res.stderr
    nodes = res.json()
    by_id: dict[str, list[str]] = {}
    for node in nodes:
        by_id.setdefault(node["id"], []).append(node["date"])
    festivals = {"spring_festival": (1, 1), "lantern": (1, 15), "dragon_boat": (5, 5), "qixi": (7, 7),
                 "mid_autumn": (8, 15), "double_ninth": (9, 9)}
    for node_id, (month, day) in festivals.items():
        assert by_id[node_id] == [_lunar(2026, month, day), _lunar(2027, month, day)], node_id
    assert by_id["double11"] == ["2026-11-11", "2027-11-11"]
    assert by_id["womens_day"] == ["2026-03-08", "2027-03-08"]
    assert by_id["mid_year_618"] == ["2026-06-18", "2027-06-18"]
    # every Wednesday in the range, and nothing outside it
    wednesdays = by_id["member_day"]
    assert len(wednesdays) == 104
    assert all(date.fromisoformat(d).weekday() == 2 for d in wednesdays)
    assert all("2026-01-01" <= n["date"] < "2028-01-01" for n in nodes)
    assert [n["date"] for n in nodes] == sorted(n["date"] for n in nodes)
    spring = next(n for n in nodes if n["id"] == "spring_festival")
    assert spring == {"id": "spring_festival", "zh": "春节", "en": "Spring Festival", "date": spring["date"],
                      "source": "lunar"}


def test_range_edges_and_lunar_year_before(cli: Callable[..., Any], workspace: Any) -> None:
    # 2026's Spring Festival falls in February: a range in January 2027 must still see
    # lunar dates of lunar year 2026 (and 2027's Spring Festival when it is inside).
    start = date.fromisoformat(_lunar(2027, 1, 1))
    res = cli("calendar", "--from", start.isoformat(), "--days", "1", "--format", "json")
    assert [n["id"] for n in res.json()] == ["spring_festival"]
    res = cli("calendar", "--from", (start + timedelta(days=1)).isoformat(), "--days", "1", "-f", "json")
    assert [n["id"] for n in res.json() if n["id"] == "spring_festival"] == []


def test_custom_lunar_and_leap_day_nodes(tmp_path: Any) -> None:
    playbook = Playbook.model_validate({
        "tiers": {"levels": [{"id": "r", "zh": "普通", "en": "Regular", "min": 0}]},
        "lifecycle": [{"id": "all", "zh": "全部", "en": "All"}],
        "calendar": {"lunar_festivals": False, "nodes": [
            {"id": "laba", "zh": "腊八", "en": "Laba", "lunar": "12-08"},
            {"id": "leap", "zh": "闰日", "en": "Leap day", "date": "02-29"},
        ]},
    })
    nodes = marketing_nodes(playbook, date(2027, 1, 1), 365 * 2)
    assert [(n.id, n.date.isoformat()) for n in nodes] == [
        ("laba", _lunar(2026, 12, 8)), ("laba", _lunar(2027, 12, 8)), ("leap", "2028-02-29"),
    ]


def test_nodes_due_with_offset() -> None:
    from privdom.playbook import default_sops_dir

    playbook = load_playbook(default_sops_dir())
    assert [n.id for n in nodes_due(playbook, "double11", date(2026, 11, 8), -3)] == ["double11"]
    assert nodes_due(playbook, "double11", date(2026, 11, 9), -3) == []


def test_bad_from_date(cli: Callable[..., Any], workspace: Any) -> None:
    res = cli("calendar", "--from", "2026-02-30")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == ["error: --from '2026-02-30' is not a date",
                                       "hint: dates are written YYYY-MM-DD, e.g. 2026-11-23"]
