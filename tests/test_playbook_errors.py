"""Broken playbooks: each mistake is reported word for word, with file, line and key path."""
# ruff: noqa: E501 - the messages are asserted whole, as the operator reads them

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BASE = (Path(__file__).parent / "fixtures" / "playbooks" / "base.yaml").read_text(encoding="utf-8")
HINT_ONE = "hint: 1 problem; fix each at the line shown, then validate again"


def write_sops(root: Path, replace: list[tuple[str, str]] = (), extra: dict[str, str] | None = None) -> Path:
    text = BASE
    for old, new in replace:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    sops = root / "sops"
    sops.mkdir(exist_ok=True)
    (sops / "playbook.yaml").write_text(text, encoding="utf-8")
    for name, content in (extra or {}).items():
        (sops / name).write_text(content, encoding="utf-8")
    return sops


CASES: list[tuple[str, list[tuple[str, str]], dict[str, str], list[str]]] = [
    (
        "syntax error",
        [('weekdays: [mon]}', 'weekdays: [mon]')],
        {},
        [
            "error: sops/playbook.yaml:21: invalid YAML: expected ',' or '}', but got '<scalar>'",
            "    19 |       title: {zh: 福利群早安, en: Welfare morning}",
            '    20 |       when: {trigger: daily, at: "09:30", weekdays: [mon]',
            "    21 |       audience: {group_types: [welfare]}",
            "       |       ^",
            "    22 |       action: group_post",
        ],
    ),
    (
        "unknown key",
        [("      action: group_post\n", "      actoin: group_post\n")],
        {},
        [
            "error: sops/playbook.yaml:18 stages.retention[0]: missing required key 'action'",
            "error: sops/playbook.yaml:22 stages.retention[0].actoin: unknown key 'actoin' (did you mean action?); "
            "expected one of id, title, when, audience, action, content_type, template, coupon, priority, "
            "catch_up_days, holdout, review_window",
        ],
    ),
    (
        "bad time",
        [('at: "09:30"', 'at: "25:00"')],
        {},
        ["error: sops/playbook.yaml:20 stages.retention[0].when.at: '25:00' is not a time (HH:MM)"],
    ),
    (
        "bad weekday",
        [("weekdays: [mon]", "weekdays: [mond]")],
        {},
        ["error: sops/playbook.yaml:20 stages.retention[0].when.weekdays[0]: 'mond' is not allowed here; "
         "expected one of mon, tue, wed, thu, fri, sat, sun"],
    ),
    (
        "bad condition operator",
        [("where: {orders_total: {eq: 1}}", "where: {orders_total: {equals: 1}}")],
        {},
        ["error: sops/playbook.yaml:31 stages.conversion[0].audience.where.orders_total.equals: "
         "unknown operator 'equals'; expected one of eq, ne, gt, gte, lt, lte, in, not_in, is_null, between"],
    ),
    (
        "unknown metric",
        [("where: {orders_total: {eq: 1}}", "where: {order_total: {eq: 1}}")],
        {},
        ["error: sops/playbook.yaml:31 stages.conversion[0].audience.where.order_total: unknown metric "
         "'order_total' (did you mean orders_total?); expected a metric (orders_total, purchase_days, spend_total, "
         "first_order_date, last_order_date, recency_days, tenure_days, orders_365, spend_365, growth, points, "
         "messages_30, images_30, tier, lifecycle, rfm_r, rfm_f, rfm_m, rfm_class, koc) or all/any/not"],
    ),
    (
        "undefined template variable",
        [("{{ member.name }}", "{{ membr.name }}")],
        {},
        ["error: sops/playbook.yaml:35 stages.conversion[0].template: rule repurchase: 'membr' is undefined; "
         "this rule's template can use brand, coupon, date, member, tier"],
    ),
    (
        "coupon in a template of a rule without a coupon",
        [("      coupon: repurchase\n", "")],
        {},
        ["error: sops/playbook.yaml:34 stages.conversion[0].template: rule repurchase: 'coupon' is undefined; "
         "this rule's template can use brand, date, member, tier"],
    ),
    (
        "dangling coupon reference",
        [("coupon: repurchase", "coupon: repurchse")],
        {},
        ["error: sops/playbook.yaml:34 stages.conversion[0].coupon: unknown coupon 'repurchse' "
         "(did you mean repurchase?); expected one of repurchase"],
    ),
    (
        "duplicate rule id",
        [("    - id: repurchase", "    - id: welfare-morning")],
        {},
        ["error: sops/playbook.yaml:26 stages.conversion[0].id: duplicate rule id 'welfare-morning' "
         "(first used at sops/playbook.yaml:18)"],
    ),
    (
        "duplicate YAML key",
        [("        offset: 7\n", "        offset: 7\n        offset: 3\n")],
        {},
        ["error: sops/playbook.yaml:31 stages.conversion[0].when.offset: duplicate key 'offset' "
         "(first written at line 30)"],
    ),
    (
        "conflicting files",
        [],
        {"z-brand.yaml": "# another brand name\nbrand: 另一个品牌\n"},
        ["error: sops/z-brand.yaml:2 brand: also defined in sops/playbook.yaml:2; define it in one file only"],
    ),
    (
        "unknown segment in entered_segment",
        [("        trigger: first_order\n", "        trigger: entered_segment\n        segment: declin\n")],
        {},
        ["error: sops/playbook.yaml:30 stages.conversion[0].when.segment: unknown segment 'declin' "
         "(did you mean decline?); expected one of decline, mature, prospect"],
    ),
    (
        "unknown group type",
        [("group_types: [welfare]", "group_types: [vip]")],
        {},
        ["error: sops/playbook.yaml:21 stages.retention[0].audience.group_types[0]: 'vip' is not allowed here; "
         "expected one of welfare, service, interest"],
    ),
    (
        "unknown node",
        [('when: {trigger: daily, at: "09:30", weekdays: [mon]}', "when: {trigger: node, node: double_11}")],
        {},
        ["error: sops/playbook.yaml:20 stages.retention[0].when.node: unknown marketing node 'double_11' "
         "(did you mean double11?); expected one of double11, double_ninth, dragon_boat, lantern, mid_autumn, "
         "qixi, spring_festival"],
    ),
    (
        "wrong type",
        [("offset: 7", "offset: seven")],
        {},
        ["error: sops/playbook.yaml:30 stages.conversion[0].when.offset: expected an integer, got 'seven'"],
    ),
    (
        "unknown trigger",
        [("trigger: first_order", "trigger: first_ordr")],
        {},
        ["error: sops/playbook.yaml:29 stages.conversion[0].when.trigger: unknown trigger 'first_ordr'; "
         "expected one of daily, node, joined, joined_group, first_order, birthday, tier_up, nth_order, "
         "entered_segment, inactive_days, group_created, group_silent, group_near_capacity"],
    ),
    (
        "tiers out of order",
        [("en: Gold, min: 6000", "en: Gold, min: 0")],
        {},
        ["error: sops/playbook.yaml:6 tiers.levels[1].min: tiers go from lowest to highest; 0 is not above 0"],
    ),
    (
        "impossible node date",
        [('date: "11-11"', 'date: "02-30"')],
        {},
        ["error: sops/playbook.yaml:15 calendar.nodes[0].date: '02-30' is not a month-day (MM-DD)"],
    ),
    (
        "unknown tier in an audience",
        [("segments: [mature]", "tiers: [platinum]")],
        {},
        ["error: sops/playbook.yaml:31 stages.conversion[0].audience.tiers[0]: unknown tier 'platinum'; "
         "expected one of gold, regular"],
    ),
    (
        "member filter on a group rule",
        [("audience: {group_types: [welfare]}", "audience: {group_types: [welfare], koc: true}")],
        {},
        ["error: sops/playbook.yaml:21 stages.retention[0].audience.koc: "
         "the rule targets groups, not members: koc does not apply"],
    ),
    (
        "private message in the quiet hours",
        [("        offset: 7\n", "        offset: 7\n        at: '22:30'\n")],
        {},
        ["error: sops/playbook.yaml:31 stages.conversion[0].when.at: 22:30 is inside the quiet hours (22:00-08:00); "
         "a private_message would never be sent"],
    ),
    (
        "a member field the template context does not have",
        [("{{ member.name }}，送您{{ coupon.label }}", "{{ member.name }}，累计{{ member.spend_total }}元")],
        {},
        ["error: sops/playbook.yaml:35 stages.conversion[0].template: rule repurchase: 'dict object' has no attribute "
         "'spend_total'; this rule's template can use brand, coupon, date, member, tier (member has no field "
         "'spend_total' (did you mean spend_total_yuan?); expected one of last_order_date, lifecycle, member_id, name, "
         "next_tier, next_tier_gap_yuan, next_tier_zh, nickname, orders_total, owner, points, region, spend_total_yuan, "
         "store, tier, tier_zh)"],
    ),
    (
        "missing required section",
        [("lifecycle:\n", "lifecycles:\n")],
        {},
        [
            "error: sops/playbook.yaml:1: missing required key 'lifecycle'",
            "error: sops/playbook.yaml:7 lifecycles: unknown key 'lifecycles' (did you mean lifecycle?); "
            "expected one of brand, timezone, tiers, lifecycle, rfm, koc, coupons, calendar, limits, stages",
        ],
    ),
]


@pytest.mark.parametrize(("replace", "extra", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_playbook(cli: Callable[..., Any], tmp_path: Path, replace: list[tuple[str, str]],
                         extra: dict[str, str], expected: list[str]) -> None:
    write_sops(tmp_path, replace, extra)
    res = cli("sop", "validate")
    assert res.exit_code == 1
    count = sum(1 for line in expected if line.startswith("error:"))
    hint = HINT_ONE if count == 1 else f"hint: {count} problems; fix each at the line shown, then validate again"
    assert res.stderr.splitlines() == [*expected, hint]
    assert res.stdout == ""


def test_any_command_stops_at_the_first_problem(cli: Callable[..., Any], tmp_path: Path) -> None:
    write_sops(tmp_path, [("coupon: repurchase", "coupon: nope"), ("trigger: first_order", "trigger: tier_up"),
                          ("offset: 7", "offset: 7\n        tier: platinum")])
    res = cli("sop", "list", "--format", "json")
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr.splitlines() == [
        "error: sops/playbook.yaml:31 stages.conversion[0].when.tier: unknown tier 'platinum'; "
        "expected one of gold, regular (1 more problem)",
        "hint: run `privdom sop validate` to list every problem in the playbook",
    ]


def test_no_playbook(cli: Callable[..., Any], tmp_path: Path) -> None:
    (tmp_path / "sops").mkdir()
    res = cli("sop", "validate")
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [
        "error: no playbook found at sops",
        "hint: run `privdom init` to create sops/, or point --sops / PRIVDOM_SOPS at your playbooks",
    ]
