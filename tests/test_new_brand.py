# ruff: noqa: E501 - rows of CSV exports read best on one line each
"""A brand unlike the example brand, run as a new operator would: exports of other systems
(WeCom customers, Youzan orders, POS members) with their own quirks, then the morning flow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from import_helpers import rows, write


def _member_tasks(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((t["rule"], t["id"]) for t in plan["tasks"] if t["member_id"])


def test_a_member_given_an_id_keeps_its_saved_tasks_under_the_new_id(cli: Callable[..., Any], workspace: Path) -> None:
    """Orders keyed by phone, a saved plan, then a member export that gives the member a card
    number: the saved tasks (a welcome and a tier congratulation) are the same tasks under the new
    id, never issued again on the same or a later morning."""
    db = workspace / "privdom.db"
    cli("import", "orders", str(write(workspace / "o.csv", ["订单号,手机号,支付时间,实付金额,订单状态", "Q1,13800000009,2026-11-20 10:00:00,320.00,已完成"])))
    first = cli("plan", "--date", "2026-11-21", "--save", "--format", "json").json()
    saved = _member_tasks(first)
    assert [rule for rule, _ in saved] == ["newcomer-welcome", "tier-up-congrats"]
    report = cli("import", "members", str(write(workspace / "m.csv", ["会员卡号,手机号,客户名称", "M9,13800000009,新会员"])), "--format", "json").json()
    assert report["members_adopted"] == 1
    again = cli("plan", "--date", "2026-11-21", "--save", "--format", "json").json()
    assert [(t["rule"], t["member_id"], t["existing"]) for t in again["tasks"] if t["member_id"]] == [
        ("newcomer-welcome", "M9", True), ("tier-up-congrats", "M9", True)]
    assert again["deferred"] == []
    for day in ("2026-11-22", "2026-11-23", "2026-11-24"):
        later = cli("plan", "--date", day, "--save", "--format", "json").json()
        issued = {t["rule"] for t in later["tasks"] + later["deferred"] if t["member_id"]}
        assert not issued & {"newcomer-welcome", "tier-up-congrats"}, day
    assert rows(db, "SELECT rule, member_id FROM tasks WHERE member_id IS NOT NULL ORDER BY rule") == [
        {"rule": "newcomer-welcome", "member_id": "M9"}, {"rule": "tier-up-congrats", "member_id": "M9"}]
