"""Loading playbooks: the default SOP, multi-file merging, YAML quirks, and the sop commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from privdom.playbook import default_sops_dir, load_playbook
from privdom.playbook.models import ACTIONS, CALENDAR_TRIGGERS, GROUP_TRIGGERS, MEMBER_TRIGGERS

BASE = (Path(__file__).parent / "fixtures" / "playbooks" / "base.yaml").read_text(encoding="utf-8")


def test_default_playbook_is_valid_and_covers_everything(cli: Callable[..., Any], workspace: Path) -> None:
    res = cli("sop", "validate")
    assert res.exit_code == 0, res.stderr
    assert res.stderr.startswith("ok: sops is valid: ")
    rules = cli("sop", "list", "--format", "json").json()
    assert {r["trigger"] for r in rules} == MEMBER_TRIGGERS | GROUP_TRIGGERS | CALENDAR_TRIGGERS
    assert {r["action"] for r in rules} == set(ACTIONS)
    assert {r["stage"] for r in rules} == {"pull_in", "retention", "conversion"}
    assert 20 <= len(rules) <= 30
    assert len({r["id"] for r in rules}) == len(rules)
    winback = next(r for r in rules if r["id"] == "winback-high-frequency")
    assert winback["when"] == "on the day of entering segment decline at 10:30"
    assert winback["audience"] == "orders_365 >= 4"


def test_default_playbook_encodes_the_methodology() -> None:
    playbook = load_playbook(default_sops_dir())
    levels = playbook.tiers.levels
    assert [(lv.id, lv.min) for lv in levels] == [("regular", 0), ("silver", 3000), ("gold", 6000)]
    assert playbook.tiers.growth_per_yuan == 10
    assert [lv.member_day_discount_yuan for lv in playbook.tiers.levels] == [6, 8, 10]
    assert [(s.id, s.when) for s in playbook.lifecycle] == [
        ("prospect", {"orders_total": {"eq": 0}}),
        ("churned", {"recency_days": {"gt": 180}}),
        ("decline", {"recency_days": {"gt": 60}}),
        ("growth", {"orders_total": {"eq": 1}}),
        ("mature", None),
    ]
    assert playbook.coupons["birthday"].value_yuan == 8 and playbook.coupons["birthday"].threshold_yuan == 0
    assert playbook.limits.private_touches_per_7_days == 2
    assert (playbook.limits.quiet_hours.start, playbook.limits.quiet_hours.end) == ("22:00", "08:00")
    rules = dict((rule.id, rule) for _, rule in playbook.stages.rules())
    # high-frequency win-back outranks the general one
    assert rules["winback-high-frequency"].priority > rules["winback-decline"].priority


def test_split_files_merge_and_report_their_own_lines(cli: Callable[..., Any], tmp_path: Path) -> None:
    sops = tmp_path / "sops"
    sops.mkdir()
    (sops / "playbook.yaml").write_text(BASE, encoding="utf-8")
    (sops / "retention.yaml").write_text(
        "# more retention rules\n"
        "stages:\n"
        "  retention:\n"
        "    - id: interest-night\n"
        "      title: {zh: 兴趣群夜话, en: Interest night}\n"
        "      when: {trigger: daily, at: 20:00}\n"      # unquoted: still the text 20:00
        "      audience: {group_types: [interest]}\n"
        "      action: group_post\n"
        "      content_type: interaction\n"
        "      template: 今晚聊聊茶\n",
        encoding="utf-8",
    )
    res = cli("sop", "show", "--format", "json")
    assert res.exit_code == 0, res.stderr
    shown = res.json()
    assert [r["id"] for r in shown["stages"]["retention"]] == ["welfare-morning", "interest-night"]
    assert shown["stages"]["retention"][1]["when"]["at"] == "20:00"
    assert shown["limits"]["quiet_hours"] == {"start": "22:00", "end": "08:00"}  # defaults filled in

    text = (sops / "retention.yaml").read_text(encoding="utf-8")
    (sops / "retention.yaml").write_text(text.replace("at: 20:00", "at: 20:60"), encoding="utf-8")
    res = cli("sop", "validate")
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == (
        "error: sops/retention.yaml:6 stages.retention[0].when.at: '20:60' is not a time (HH:MM)"
    )


def test_validate_path_argument_and_show_yaml(cli: Callable[..., Any], workspace: Path) -> None:
    other = workspace / "other.yaml"
    other.write_text(BASE.replace("offset: 7", "offset: -1"), encoding="utf-8")
    res = cli("sop", "validate", str(other))
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == (
        f"error: {other}:30 stages.conversion[0].when.offset: expected a number >= 0, got -1 "
        "(only birthday and node events are known in advance)"
    )
    shown = yaml.safe_load(cli("sop", "show").stdout)
    assert shown["brand"] == "我的品牌"  # `init` without --brand: the default playbook is brand-neutral
    assert shown["stages"]["conversion"][0]["when"]["trigger"] == "joined"


def test_sop_list_table(cli: Callable[..., Any], workspace: Path) -> None:
    res = cli("sop", "list")
    assert res.exit_code == 0
    assert "newcomer-welcome" in res.stdout and "引流 pull_in" in res.stdout


def _validate(tmp_path: Path, text: str | bytes) -> list[str]:
    from privdom.playbook import validate_playbook

    path = tmp_path / "p.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return [str(issue).replace(str(tmp_path), "DIR") for issue in validate_playbook(path)]


def test_yaml_quirks(tmp_path: Path) -> None:
    assert _validate(tmp_path, "- just\n- a list\n") == [
        "DIR/p.yaml:1: expected a mapping of playbook keys at the top level, got list"
    ]
    assert _validate(tmp_path, "brand: 茶\n".encode("gb18030")) == [
        "DIR/p.yaml: is not UTF-8 text (invalid start byte)"
    ]
    assert _validate(tmp_path, "tiers: {levels: [], levels: []}\n") == [
        "DIR/p.yaml:1 tiers.levels: duplicate key 'levels' (first written at line 1)"
    ]
    # YAML merge keys work, and the merged keys are checked like any other
    with_anchor = BASE.replace("  repurchase: {label", "  base: &base {label").replace(
        "valid_days: 3}\n", "valid_days: 3}\n  repurchase: {<<: *base, valid_dayz: 2}\n"
    )
    assert _validate(tmp_path, with_anchor) == [
        "DIR/p.yaml:13 coupons.repurchase.valid_dayz: unknown key 'valid_dayz' (did you mean valid_days?); "
        "expected one of label, value_yuan, threshold_yuan, valid_days"
    ]


@pytest.mark.parametrize("text", [
    None,  # every shipped playbook file
    "base: &b {at: '09:30', n: 012, f: 1.5e3}\nrule:\n  <<: *b\n  at: 12:00\n  list: [*b, *b]\n",
    "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 70)) + "  " * 70 + "c: 1\n",  # past MAX_DEPTH
    "x: &x [1]\n" + "".join(f"k{i}: *x\n" for i in range(1_200)),  # past MAX_ALIASES
    "a: [1, 2\nb: 3\n",  # a syntax error
])
def test_libyaml_and_the_python_composer_read_the_same(text: str | None, tmp_path: Path) -> None:
    """The fast composer is an optimisation only: data, lines and errors are the pure-Python ones."""
    from privdom.playbook import yamlfile

    if yamlfile._FAST is None:
        pytest.skip("PyYAML without libyaml: only the pure-Python composer runs")
    shipped = Path(__file__).parent.parent
    paths = sorted([*(shipped / "sops").glob("*.yaml"), *(shipped / "examples" / "brand" / "sops").glob("*.yaml")])
    if text is not None:
        paths = [tmp_path / "p.yaml"]
        paths[0].write_text(text, encoding="utf-8")
    assert paths

    def read(path: Path) -> Any:
        try:
            return yamlfile.read_yaml(path, "p.yaml")
        except yamlfile.YamlProblem as exc:
            return str(exc)

    fast = yamlfile._FAST
    for path in paths:
        got = read(path)
        yamlfile._FAST = None
        try:
            assert got == read(path), path
        finally:
            yamlfile._FAST = fast
