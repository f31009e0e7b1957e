"""`privdom plan` end to end on a tiny hand-made workspace: one member or group per trigger kind.

The scenario day is Wednesday 2026-11-25; the playbook's own node `fest` is on 2026-11-28, so the
scenario day is its T-3.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

D = "2026-11-25"  # a Wednesday

PLAYBOOK = """
brand: 茶语
timezone: Asia/Shanghai
tiers:
  metric: growth
  growth_per_yuan: 10
  levels:
    - {id: regular, zh: 普通会员, en: Regular, min: 0}
    - {id: silver, zh: 银卡会员, en: Silver, min: 3000}
lifecycle:
  - {id: prospect, zh: 引入期, en: Prospect, when: {orders_total: {eq: 0}}}
  - {id: decline, zh: 衰退期, en: Decline, when: {recency_days: {gt: 60}}}
  - {id: growth, zh: 成长期, en: Growth, when: {orders_total: {eq: 1}}}
  - {id: mature, zh: 成熟期, en: Mature}
coupons:
  repurchase: {label: 复购券, value_yuan: 5, threshold_yuan: 30, valid_days: 3}
calendar:
  lunar_festivals: false
  nodes:
    - {id: fest, zh: 会员节, en: Member festival, date: "11-28"}
limits:
  private_touches_per_7_days: {cap}
  owner_daily_capacity: {capacity}
  quiet_hours: {start: "22:00", end: "08:00"}
  default_owner: 运营
stages:
  pull_in:
    - id: welcome
      title: {zh: 新人欢迎, en: Welcome}
      when: {trigger: joined, offset: 3, at: "10:00"}
      action: private_message
      content_type: culture
      priority: 70
      template: "{{ member.name }}，欢迎加入{{ brand }}"
    - id: group-hello
      title: {zh: 入群问候, en: Group hello}
      when: {trigger: joined_group, at: "12:00"}
      action: private_message
      content_type: rules
      template: "{{ member.name }}，欢迎进{{ group.name }}"
    - id: new-group-rules
      title: {zh: 新群发布群规, en: Rules for a new group}
      when: {trigger: group_created, at: "10:00"}
      action: group_post
      content_type: rules
      template: "{{ group.name }} 群规"
    - id: wake-group
      title: {zh: 沉默群激活, en: Wake a silent group}
      when: {trigger: group_silent, days: 3, at: "20:00"}
      action: group_post
      content_type: interaction
      template: "{{ group.name }} 红包来啦"
    - id: group-full
      title: {zh: 群将满员开新群, en: Open a new group}
      when: {trigger: group_near_capacity, ratio: 0.9, at: "15:00"}
      action: group_post
      content_type: rules
      template: "{{ group.name }} 即将满员"
    - id: second-order-thanks
      title: {zh: 第二单感谢, en: Second order thanks}
      when: {trigger: nth_order, n: 2, offset: 1, at: "19:30"}
      action: private_message
      content_type: culture
      priority: 40
      template: "{{ member.name }}，谢谢回购"
  retention:
    - id: welfare-morning
      title: {zh: 早安福利, en: Morning deal}
      when: {trigger: daily, at: "09:30"}
      audience: {group_types: [welfare]}
      action: group_post
      content_type: product
      template: "早安 {{ date }}"
    - id: tier-up
      title: {zh: 升级祝贺, en: Tier-up congratulations}
      when: {trigger: tier_up, at: "11:00"}
      action: private_message
      content_type: culture
      template: "{{ member.name }}，恭喜升级{{ tier.zh }}"
    - id: miss-you
      title: {zh: 30天未下单关怀, en: Thirty quiet days}
      when: {trigger: inactive_days, days: 30, at: "15:30"}
      action: private_message
      content_type: value
      priority: 30
      template: "{{ member.name }}，好久不见"
  conversion:
    - id: repurchase-day7
      title: {zh: 首单后第7天复购券, en: Day-7 repurchase coupon}
      when: {trigger: first_order, offset: 7, at: "12:00"}
      action: coupon
      coupon: repurchase
      content_type: product
      priority: 60
      catch_up_days: {catch_up}
      template: "{{ member.name }}，{{ coupon.label }}{{ coupon.expires_on }}前有效"
    - id: birthday
      title: {zh: 生日礼遇, en: Birthday}
      when: {trigger: birthday, at: "09:30"}
      action: private_message
      content_type: culture
      priority: 80
      template: "生日快乐 {{ member.name }}"
    - id: member-day
      title: {zh: 周三会员日, en: Member day}
      when: {trigger: daily, weekdays: [wed], at: "11:00"}
      audience: {group_types: [welfare]}
      action: group_post
      content_type: product
      template: "会员日 {{ group.name }}"
    - id: decline-winback
      title: {zh: 衰退期挽回, en: Win back}
      when: {trigger: entered_segment, segment: decline, at: "10:30"}
      action: call
      content_type: product
      priority: 75
      template: "{{ member.name }} 挽回电话"
    - id: fest-warmup
      title: {zh: 会员节预热, en: Festival warm-up}
      when: {trigger: node, node: fest, offset: -3, at: "20:00"}
      audience: {group_types: [interest]}
      action: group_post
      content_type: product
      template: "{{ node.zh }}还有{{ node.days_left }}天"
    - id: fest-day
      title: {zh: 会员节当天, en: Festival day}
      when: {trigger: node, node: fest, at: "09:00"}
      audience: {group_types: [welfare]}
      action: group_post
      content_type: product
      template: "{{ node.zh }}今天开始"
"""

# (member_id, name, phone, owner, joined_at, birthday, birthday_md)
MEMBERS = [
    ("m-join", "新人", "13800000001", "小茶", "2026-11-22 10:00:00", None, None),
    ("m-group", "进群", None, "小茶", None, None, None),
    ("m-first", "首单", None, "小茶", None, None, None),
    ("m-nth", "二单", None, "小叶", None, None, None),
    ("m-bday", "生日", None, "小叶", None, "1990-11-25", None),
    ("m-md", "月日生日", None, None, None, None, "11-25"),
    ("m-tier", "升级", None, "小叶", None, None, None),
    ("m-decline", "衰退", None, "小叶", None, None, None),
    ("m-quiet", "沉默", None, "小叶", None, None, None),
]
# (order_id, member_id, paid_at, yuan)
ORDERS = [
    ("o1", "m-first", "2026-11-18 12:00:00", 20),
    ("o2", "m-nth", "2026-10-01 12:00:00", 10),
    ("o3", "m-nth", "2026-11-24 18:00:00", 10),
    ("o4", "m-tier", "2026-10-02 12:00:00", 100),
    ("o5", "m-tier", "2026-11-25 09:00:00", 250),
    ("o6", "m-decline", "2026-09-25 12:00:00", 30),
    ("o7", "m-quiet", "2026-10-26 12:00:00", 30),
]
# (group_id, name, type, owner, size, capacity, created_at)
GROUPS = [
    ("gw1", "福利1群", "welfare", "小茶", 50, 200, "2026-01-01 10:00:00"),
    ("gw2", "福利2群", "welfare", "小茶", 60, 200, "2026-01-01 10:00:00"),
    ("gi1", "兴趣1群", "interest", "小叶", 20, 200, "2026-01-01 10:00:00"),
    ("g-new", "新群", "service", "小叶", 3, 30, "2026-11-25 08:00:00"),
    ("g-quiet", "安静群", "service", "小叶", 20, 30, "2026-01-01 10:00:00"),
    ("g-full", "满员群", "service", None, 28, 30, "2026-01-01 10:00:00"),
]
ACTIVITY = [
    ("2026-11-22", "g-quiet", "m-nth", 5),
    ("2026-11-24", "gi1", "m-nth", 2),
    ("2026-11-24", "gw1", "m-nth", 2),
    ("2026-11-24", "gw2", "m-nth", 2),
    ("2026-11-24", "g-full", "m-nth", 2),
    ("2026-11-25", "g-new", "m-nth", 0),
]

# Every task of the scenario day, written out: (rule, member or group, owner, due_at, event_date).
EXPECTED_D = sorted(
    [
        ("welcome", "m-join", "小茶", "2026-11-25T10:00:00+08:00", "2026-11-22"),
        ("group-hello", "m-group", "小茶", "2026-11-25T12:00:00+08:00", "2026-11-25"),
        ("repurchase-day7", "m-first", "小茶", "2026-11-25T12:00:00+08:00", "2026-11-18"),
        ("second-order-thanks", "m-nth", "小叶", "2026-11-25T19:30:00+08:00", "2026-11-24"),
        ("birthday", "m-bday", "小叶", "2026-11-25T09:30:00+08:00", "2026-11-25"),
        ("birthday", "m-md", "运营", "2026-11-25T09:30:00+08:00", "2026-11-25"),
        ("tier-up", "m-tier", "小叶", "2026-11-25T11:00:00+08:00", "2026-11-25"),
        ("decline-winback", "m-decline", "小叶", "2026-11-25T10:30:00+08:00", "2026-11-25"),
        ("miss-you", "m-quiet", "小叶", "2026-11-25T15:30:00+08:00", "2026-10-26"),
        ("new-group-rules", "g-new", "小叶", "2026-11-25T10:00:00+08:00", "2026-11-25"),
        ("wake-group", "g-quiet", "小叶", "2026-11-25T20:00:00+08:00", "2026-11-25"),
        ("group-full", "g-full", "运营", "2026-11-25T15:00:00+08:00", "2026-11-25"),
        ("welfare-morning", "gw1", "小茶", "2026-11-25T09:30:00+08:00", "2026-11-25"),
        ("welfare-morning", "gw2", "小茶", "2026-11-25T09:30:00+08:00", "2026-11-25"),
        ("member-day", "gw1", "小茶", "2026-11-25T11:00:00+08:00", "2026-11-25"),
        ("member-day", "gw2", "小茶", "2026-11-25T11:00:00+08:00", "2026-11-25"),
        ("fest-warmup", "gi1", "小叶", "2026-11-25T20:00:00+08:00", "2026-11-28"),
    ]
)

Cli = Callable[..., Any]


def write_playbook(ws: Path, *, cap: int = 5, capacity: int = 100, catch_up: int = 0) -> None:
    for old in (ws / "sops").glob("*.yaml"):
        old.unlink()
    text = PLAYBOOK.replace("{cap}", str(cap)).replace("{capacity}", str(capacity))
    (ws / "sops" / "playbook.yaml").write_text(text.replace("{catch_up}", str(catch_up)), encoding="utf-8")


def fill(ws: Path) -> None:
    conn = sqlite3.connect(ws / "privdom.db")
    with conn:
        conn.executemany(
            "INSERT INTO members (member_id, name, phone, owner, joined_at, birthday, birthday_md) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            MEMBERS,
        )
        conn.executemany(
            "INSERT INTO orders (order_id, member_id, paid_at, amount_fen) VALUES (?, ?, ?, ?)",
            [(o, m, t, y * 100) for o, m, t, y in ORDERS],
        )
        conn.executemany(
            "INSERT INTO groups (group_id, name, type, owner, size, capacity, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            GROUPS,
        )
        conn.execute(
            "INSERT INTO group_members (group_id, member_id, joined_at) "
            "VALUES ('gw1', 'm-group', '2026-11-25 08:30:00')"
        )
        conn.executemany(
            "INSERT INTO activity (date, group_id, member_id, messages) VALUES (?, ?, ?, ?)", ACTIVITY
        )
    conn.close()


@pytest.fixture
def scenario(workspace: Path) -> Path:
    write_playbook(workspace)
    fill(workspace)
    return workspace


def plan_json(cli: Cli, *args: str) -> dict[str, Any]:
    res = cli("plan", *args, "--format", "json")
    assert res.exit_code == 0, res.stderr
    data: dict[str, Any] = res.json()
    return data


def keyed(tasks: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (t["rule"], t["member_id"] or t["group_id"], t["owner"], t["due_at"], t["event_date"]) for t in tasks
    )


def db_rows(ws: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(ws / "privdom.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_every_trigger_kind_on_the_scenario_day(cli: Cli, scenario: Path) -> None:
    data = plan_json(cli, "--date", D)
    assert keyed(data["tasks"]) == EXPECTED_D
    assert data["deferred"] == []
    assert data["date"] == D and data["timezone"] == "Asia/Shanghai"
    assert data["summary"]["by_owner"] == {"小叶": 8, "小茶": 7, "运营": 2}
    assert data["summary"]["by_stage"] == {"conversion": 7, "pull_in": 6, "retention": 4}
    assert db_rows(scenario, "SELECT COUNT(*) FROM tasks") == [(0,)]  # --no-save is the default


def test_messages_and_reasons(cli: Cli, scenario: Path) -> None:
    tasks = {(t["rule"], t["member_id"] or t["group_id"]): t for t in plan_json(cli, "--date", D)["tasks"]}
    coupon = tasks[("repurchase-day7", "m-first")]
    assert coupon["message"] == "首单，复购券2026-11-27前有效"
    assert coupon["reason"] == "首单后第7天（首单 2026-11-18），复购窗口内"
    assert coupon["rule_title"] == {"zh": "首单后第7天复购券", "en": "Day-7 repurchase coupon"}
    assert coupon["action"] == "coupon" and coupon["stage"] == "conversion" and coupon["priority"] == 60
    assert tasks[("tier-up", "m-tier")]["message"] == "升级，恭喜升级银卡会员"
    assert tasks[("fest-warmup", "gi1")]["message"] == "会员节还有3天"
    assert tasks[("fest-warmup", "gi1")]["reason"] == "会员节前3天（会员节 2026-11-28）"
    assert tasks[("wake-group", "g-quiet")]["reason"] == "群已连续3天无人发言（最后发言 2026-11-22）"
    assert tasks[("miss-you", "m-quiet")]["reason"] == "已30天未下单（最后下单 2026-10-26）"
    assert tasks[("birthday", "m-md")]["reason"] == "生日当天（生日 11-25）"
    assert tasks[("member-day", "gw1")]["reason"] == "每周三 11:00 固定节奏：周三会员日"


def test_a_thursday_has_no_member_day_and_the_node_day_fires(cli: Cli, scenario: Path) -> None:
    thursday = {t["rule"] for t in plan_json(cli, "--date", "2026-11-26")["tasks"]}
    assert "member-day" not in thursday and "welfare-morning" in thursday
    assert "fest-warmup" not in thursday
    node_day = [t for t in plan_json(cli, "--date", "2026-11-28")["tasks"] if t["rule"].startswith("fest")]
    assert keyed(node_day) == [
        ("fest-day", "gw1", "小茶", "2026-11-28T09:00:00+08:00", "2026-11-28"),
        ("fest-day", "gw2", "小茶", "2026-11-28T09:00:00+08:00", "2026-11-28"),
    ]


def test_feb_29_birthdays_fall_on_feb_28_in_common_years(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace)
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.execute(
            "INSERT INTO members (member_id, name, owner, birthday) "
            "VALUES ('leap', '闰日', '小茶', '2000-02-29')"
        )
    conn.close()
    assert [t["member_id"] for t in plan_json(cli, "--date", "2027-02-28")["tasks"]] == ["leap"]
    assert plan_json(cli, "--date", "2028-02-28")["tasks"] == []
    assert [t["member_id"] for t in plan_json(cli, "--date", "2028-02-29")["tasks"]] == ["leap"]


def test_filters_narrow_the_view(cli: Cli, scenario: Path) -> None:
    assert {t["owner"] for t in plan_json(cli, "--date", D, "--owner", "运营")["tasks"]} == {"运营"}
    assert {t["stage"] for t in plan_json(cli, "--date", D, "--stage", "pull_in")["tasks"]} == {"pull_in"}
    calls = plan_json(cli, "--date", D, "--action", "call")["tasks"]
    assert [(t["rule"], t["member_id"]) for t in calls] == [("decline-winback", "m-decline")]
    res = cli("plan", "--date", D, "--stage", "sales")
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == "error: --stage 'sales' is not one of pull_in, retention, conversion"


def test_save_twice_issues_nothing_twice(cli: Cli, scenario: Path) -> None:
    first = cli("plan", "--date", D, "--save", "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert "saved 17 new tasks (0 already saved)" in first.stderr
    second = cli("plan", "--date", D, "--save", "--format", "json")
    assert "saved 0 new tasks (17 already saved)" in second.stderr
    assert keyed(second.json()["tasks"]) == EXPECTED_D
    assert all(t["existing"] and t["status"] == "open" for t in second.json()["tasks"])
    assert db_rows(scenario, "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM tasks") == [(17, 17)]
    assert [t["id"] for t in first.json()["tasks"]] == [t["id"] for t in second.json()["tasks"]]
    saved = db_rows(scenario, "SELECT rule, member_id, event_date, reason FROM tasks WHERE rule = 'welcome'")
    assert saved == [("welcome", "m-join", "2026-11-22", "加好友/入会后第3天（入会 2026-11-22）")]


def test_catch_up_after_a_skipped_day(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace, catch_up=2)
    fill(workspace)
    # The plan was saved on the 24th, nobody ran it on the 25th; the 26th still issues the day-7
    # coupon, once, and says it is a catch-up of the missed morning.
    assert cli("plan", "--date", "2026-11-24", "--save").exit_code == 0
    late = [
        t for t in plan_json(cli, "--date", "2026-11-26", "--save")["tasks"] if t["rule"] == "repurchase-day7"
    ]
    assert [(t["member_id"], t["event_date"], t["due_at"]) for t in late] == [
        ("m-first", "2026-11-18", "2026-11-26T12:00:00+08:00")
    ]
    assert late[0]["reason"] == "首单后第7天（首单 2026-11-18），复购窗口内；补发（原定 2026-11-25）"
    again = [t for t in plan_json(cli, "--date", "2026-11-27")["tasks"] if t["rule"] == "repurchase-day7"]
    assert again == []
    # Outside the window it is gone for good.
    assert [
        t for t in plan_json(cli, "--date", "2026-11-28")["tasks"] if t["rule"] == "repurchase-day7"
    ] == []


def test_catch_up_never_repeats_a_task_saved_on_time(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace, catch_up=2)
    fill(workspace)
    plan_json(cli, "--date", D, "--save")
    nxt = [t for t in plan_json(cli, "--date", "2026-11-26")["tasks"] if t["rule"] == "repurchase-day7"]
    assert nxt == []


def test_member_cap_defers_the_lower_priority_touch(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace, cap=1)
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.execute(
            "INSERT INTO members (member_id, name, owner, birthday) VALUES ('m1', '甲', '小茶', '1990-11-25')"
        )
        conn.execute(
            "INSERT INTO orders (order_id, member_id, paid_at, amount_fen) "
            "VALUES ('o', 'm1', '2026-11-18 10:00', 2000)"
        )
    conn.close()
    data = plan_json(cli, "--date", D)
    assert [(t["rule"], t["member_id"]) for t in data["tasks"]] == [("birthday", "m1")]  # priority 80 first
    assert [(t["rule"], t["member_id"], t["cause"]) for t in data["deferred"]] == [
        ("repurchase-day7", "m1", "member_cap")
    ]
    assert data["summary"]["deferred_by_cause"] == {"member_cap": 1}


def test_member_cap_counts_the_week_saved_before(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace, cap=1)
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.execute(
            "INSERT INTO members (member_id, name, owner, birthday) VALUES ('m1', '甲', '小茶', '1990-11-25')"
        )
        conn.execute(
            "INSERT INTO tasks (task_id, date, rule, stage, trigger, action, member_id, owner, due_at, "
            "created_at) "
            "VALUES ('old', '2026-11-19', 'x', 'conversion', 'joined', 'call', 'm1', '小茶', "
            "'2026-11-19T10:00:00+08:00', '2026-11-19')"
        )
    conn.close()
    data = plan_json(cli, "--date", D)
    assert data["tasks"] == []
    assert [(t["rule"], t["cause"]) for t in data["deferred"]] == [("birthday", "member_cap")]
    # A week later the old touch has left the 7-day window (D-6..D).
    assert [t["rule"] for t in plan_json(cli, "--date", "2027-11-25")["tasks"]] == ["birthday"]


def test_owner_capacity_overflow(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace, capacity=2)
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:
        conn.executemany(
            "INSERT INTO members (member_id, name, owner, joined_at) VALUES (?, ?, '小茶', ?)",
            [(f"n{i}", f"新{i}", "2026-11-22 09:00:00") for i in range(3)],
        )
        conn.execute(
            "INSERT INTO members (member_id, name, owner, birthday) "
            "VALUES ('b', '寿星', '小茶', '1990-11-25')"
        )
    conn.close()
    data = plan_json(cli, "--date", D)
    kept = [(t["rule"], t["member_id"]) for t in data["tasks"]]
    # birthday (priority 80) comes before welcome (70); welcomes then go by due time and id.
    assert kept[0] == ("birthday", "b") and len(kept) == 2
    assert [t["cause"] for t in data["deferred"]] == ["owner_capacity", "owner_capacity"]
    assert data["summary"]["deferred_by_cause"] == {"owner_capacity": 2}
    # The table counts what was deferred per cause, owner and rule; CSV and JSON list each task.
    table = cli("plan", "--date", D).stdout
    assert "延后 deferred 2" in table.splitlines()[0]
    (row,) = [line for line in table.splitlines() if "负责人当日容量已满" in line]
    assert row.strip().split(" · ") == ["负责人当日容量已满", "小茶", "新人欢迎", "2"]
    csv_rows = cli("plan", "--date", D, "--format", "csv").stdout.splitlines()
    assert sum(line.endswith(",owner_capacity,deferred") for line in csv_rows) == 2


def test_table_collapses_group_posts_and_md_is_a_checklist(cli: Cli, scenario: Path) -> None:
    table = cli("plan", "--date", D)
    assert table.exit_code == 0
    assert "(2个群)" in table.stdout and "早安福利" in table.stdout
    md = cli("plan", "--date", D, "--format", "md").stdout
    assert md.startswith(f"# {D} 运营计划 plan")
    # 17 tasks: the two groups' one morning deal is one line; posts whose text names the group
    # (member day, `会员日 {{ group.name }}`) are different messages, one line each
    assert md.count("- [ ] ") == 16
    csv_out = cli("plan", "--date", D, "--format", "csv").stdout.splitlines()
    assert len(csv_out) == 1 + 17


def test_phones_masked_unless_show_pii(cli: Cli, workspace: Path) -> None:
    write_playbook(workspace)
    conn = sqlite3.connect(workspace / "privdom.db")
    with conn:  # a member whose only name is the phone number, as WeCom exports often have
        conn.execute(
            "INSERT INTO members (member_id, name, owner, joined_at) "
            "VALUES ('p', '13812345678', '小茶', '2026-11-22 09:00:00')"
        )
    conn.close()
    masked = plan_json(cli, "--date", D)["tasks"][0]
    assert masked["message"] == "138****5678，欢迎加入茶语" and masked["target"] == "138****5678"
    assert "13812345678" not in cli("plan", "--date", D, "--format", "md").stdout
    shown = plan_json(cli, "--date", D, "--show-pii")["tasks"][0]
    assert shown["message"] == "13812345678，欢迎加入茶语"


def test_bad_date(cli: Cli, scenario: Path) -> None:
    res = cli("plan", "--date", "2026-13-01")
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == "error: --date '2026-13-01' is not a date"
