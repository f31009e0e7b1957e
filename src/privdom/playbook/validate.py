"""What the schema alone cannot see: references between parts, conditions, templates, dates.

A rule that names a coupon, segment, tier or marketing node that does not exist would fail on
some morning months later; here it fails at `privdom sop validate`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from privdom.playbook.conditions import Path as KeyPath
from privdom.playbook.conditions import check_condition
from privdom.playbook.models import GROUP_TRIGGERS, Node, Playbook, Rule
from privdom.playbook.templates import CJK_CHARS as SPACE_IN_CHINESE_CHARS
from privdom.playbook.templates import MEMBER_ACTIONS, SAMPLE_CONTEXT, context_names
from privdom.playbook.templates import check_template as template_problem
from privdom.playbook.yamlfile import Issue

if TYPE_CHECKING:
    from privdom.playbook.loader import Sources

# Lunar festivals the calendar provides when `calendar.lunar_festivals` is on: id -> (zh, en, lunar MM-DD).
LUNAR_FESTIVALS: dict[str, tuple[str, str, str]] = {
    "spring_festival": ("春节", "Spring Festival", "01-01"),
    "lantern": ("元宵", "Lantern Festival", "01-15"),
    "dragon_boat": ("端午", "Dragon Boat Festival", "05-05"),
    "qixi": ("七夕", "Qixi Festival", "07-07"),
    "mid_autumn": ("中秋", "Mid-Autumn Festival", "08-15"),
    "double_ninth": ("重阳", "Double Ninth Festival", "09-09"),
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MEMBER_FILTERS = ("tiers", "segments", "rfm_classes", "tags", "koc", "where")


def _one_of(value: str, choices: Iterable[str]) -> str:
    names = sorted(choices)
    close = difflib.get_close_matches(value, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{hint}; expected one of {', '.join(names)}" if names else f"{hint}; none is defined"


def check_meaning(playbook: Playbook, sources: Sources) -> list[Issue]:
    issues: list[Issue] = []

    def add(path: KeyPath, message: str) -> None:
        issues.append(sources.issue(path, message))

    tier_ids = _check_tiers(playbook, add)
    segment_ids = _check_lifecycle(playbook, add, tier_ids)
    node_ids = _check_calendar(playbook, add)
    known = {"tier": tier_ids, "lifecycle": segment_ids}
    seen: dict[str, KeyPath] = {}
    for stage in ("pull_in", "retention", "conversion"):
        for i, rule in enumerate(getattr(playbook.stages, stage)):
            path: KeyPath = ("stages", stage, i)
            if rule.id in seen:
                first = sources.issue(seen[rule.id], "")
                add((*path, "id"), f"duplicate rule id {rule.id!r} (first used at {first.file}:{first.line})")
            else:
                seen[rule.id] = (*path, "id")
            _check_rule(rule, path, playbook, add, known, node_ids)
    return issues


def _check_tiers(playbook: Playbook, add: Any) -> set[str]:
    ids: set[str] = set()
    previous = -1
    for i, level in enumerate(playbook.tiers.levels):
        path: KeyPath = ("tiers", "levels", i)
        if level.id in ids:
            add((*path, "id"), f"duplicate tier id {level.id!r}")
        ids.add(level.id)
        if i == 0 and level.min != 0:
            add((*path, "min"), f"the first tier must start at 0 so every member has one; got {level.min}")
        elif level.min <= previous:
            add((*path, "min"), f"tiers go from lowest to highest; {level.min} is not above {previous}")
        previous = level.min
    if not playbook.tiers.levels:
        add(("tiers", "levels"), "expected at least one tier")
    return ids


def _check_lifecycle(playbook: Playbook, add: Any, tier_ids: set[str]) -> set[str]:
    ids: set[str] = set()
    catch_all: str | None = None
    for i, segment in enumerate(playbook.lifecycle):
        path: KeyPath = ("lifecycle", i)
        if segment.id in ids:
            add((*path, "id"), f"duplicate segment id {segment.id!r}")
        ids.add(segment.id)
        if catch_all is not None:
            add(path, f"segment {segment.id!r} can never match: {catch_all!r} before it matches every member")
        if segment.when is None:
            catch_all = catch_all or segment.id
            continue
        for problem in check_condition(segment.when, {"tier": tier_ids}):
            add((*path, "when", *problem.path), problem.message)
        if _mentions(segment.when, "lifecycle"):
            add((*path, "when"), "a lifecycle segment cannot depend on the lifecycle itself")
    return ids


def _mentions(cond: Any, metric: str) -> bool:
    if isinstance(cond, dict):
        return metric in cond or any(_mentions(v, metric) for v in cond.values())
    if isinstance(cond, list):
        return any(_mentions(v, metric) for v in cond)
    return False


def _check_calendar(playbook: Playbook, add: Any) -> set[str]:
    ids = set(LUNAR_FESTIVALS) if playbook.calendar.lunar_festivals else set()
    for i, node in enumerate(playbook.calendar.nodes):
        path: KeyPath = ("calendar", "nodes", i)
        if node.id in ids:
            builtin = " (a built-in lunar festival)" if node.id in LUNAR_FESTIVALS else ""
            add((*path, "id"), f"duplicate node id {node.id!r}{builtin}")
        ids.add(node.id)
        _check_node_date(node, path, add)
    return ids


def _check_node_date(node: Node, path: KeyPath, add: Any) -> None:
    given = [key for key in ("date", "lunar", "weekday") if getattr(node, key) is not None]
    if len(given) != 1:
        add(path, f"node {node.id!r} needs exactly one of date (MM-DD), lunar (MM-DD) or weekday; "
                  f"got {', '.join(given) or 'none'}")
        return
    for key, days_in_month in (("date", _DAYS_IN_MONTH), ("lunar", (30,) * 12)):
        value = getattr(node, key)
        if value is None:
            continue
        month, _, day = value.partition("-")
        ok = len(value) == 5 and month.isdigit() and day.isdigit() and 1 <= int(month) <= 12
        if not ok or not 1 <= int(day) <= days_in_month[int(month) - 1]:
            add((*path, key), f"{value!r} is not a {'lunar ' if key == 'lunar' else ''}month-day (MM-DD)")


def _check_rule(rule: Rule, path: KeyPath, playbook: Playbook, add: Any, known: dict[str, set[str]],
                node_ids: set[str]) -> None:
    when = rule.when
    trigger = when.trigger
    if trigger == "entered_segment" and getattr(when, "segment", None) not in known["lifecycle"]:
        segment = str(getattr(when, "segment", ""))
        add((*path, "when", "segment"), f"unknown segment {segment!r}{_one_of(segment, known['lifecycle'])}")
    tier = getattr(when, "tier", None)
    if tier is not None and tier not in known["tier"]:
        add((*path, "when", "tier"), f"unknown tier {tier!r}{_one_of(tier, known['tier'])}")
    if trigger == "node" and getattr(when, "node", None) not in node_ids:
        node = str(getattr(when, "node", ""))
        add((*path, "when", "node"), f"unknown marketing node {node!r}{_one_of(node, node_ids)}")
    quiet = playbook.limits.quiet_hours
    if rule.action in MEMBER_ACTIONS and _in_quiet_hours(when.at, quiet.start, quiet.end):
        add((*path, "when", "at"), f"{when.at} is inside the quiet hours ({quiet.start}-{quiet.end}); "
                                   f"a {rule.action} would never be sent")
    from_date, to_date = getattr(when, "from_date", None), getattr(when, "to_date", None)
    if from_date and to_date and from_date > to_date:
        add((*path, "when", "to"), f"the range ends ({to_date}) before it starts ({from_date})")

    if rule.coupon is not None and rule.coupon not in playbook.coupons:
        add((*path, "coupon"), f"unknown coupon {rule.coupon!r}{_one_of(rule.coupon, playbook.coupons)}")
    if rule.action == "coupon" and rule.coupon is None:
        names_ = ", ".join(sorted(playbook.coupons))
        add(path, f"missing required key 'coupon': action coupon needs one of {names_}")

    audience = rule.audience
    names = context_names(rule)
    if "member" not in names:
        target = "groups" if "group" in names else "Moments"
        for key in _MEMBER_FILTERS:
            if getattr(audience, key) not in (None, []):
                add((*path, "audience", key), f"the rule targets {target}, not members: {key} does not apply")
        if rule.holdout:  # a control group is made of members; group posts are reviewed by activity
            add((*path, "holdout"), f"the rule targets {target}, not members: holdout does not apply")
    for i, tier_id in enumerate(audience.tiers):
        if tier_id not in known["tier"]:
            add((*path, "audience", "tiers", i), f"unknown tier {tier_id!r}{_one_of(tier_id, known['tier'])}")
    for i, segment in enumerate(audience.segments):
        if segment not in known["lifecycle"]:
            add((*path, "audience", "segments", i),
                f"unknown segment {segment!r}{_one_of(segment, known['lifecycle'])}")
    if audience.where is not None:
        for problem in check_condition(audience.where, known):
            add((*path, "audience", "where", *problem.path), problem.message)
    if trigger in GROUP_TRIGGERS and rule.action != "group_post":
        add((*path, "action"), f"a group event ({trigger}) can only drive group_post, not {rule.action}")

    wrong = template_problem(rule.template, names)
    if wrong is not None:
        given = _what_gives(rule, wrong)
        add((*path, "template"), f"rule {rule.id}: {wrong}; this rule's template can use {', '.join(sorted(names))}"
                                 f"{given}")


def _what_gives(rule: Rule, problem: str) -> str:
    """Why the context lacks what a template reads, for the two names templates most often want."""
    names = context_names(rule)
    if "group" not in names and problem.startswith("'group' is undefined"):
        return (f" (a {rule.when.trigger} rule with action {rule.action} has no group: only group events,"
                " joined_group and the actions group_post and invite_to_group give one)")
    if "member" not in names and problem.startswith(("'member' is undefined", "'tier' is undefined")):
        return f" (a {rule.when.trigger} rule with action {rule.action} has no member)"
    missing = _NO_FIELD.match(problem)
    if missing:  # jinja names no object: the template says which name the field was read from
        field = missing[1]
        for name in sorted(names):
            fields = SAMPLE_CONTEXT.get(name)
            read = rf"\b{name}\s*(\.\s*{re.escape(field)}\b|\[\s*['\"]{re.escape(field)}['\"])"
            if isinstance(fields, dict) and re.search(read, rule.template):
                return f" ({name} has no field {field!r}{_one_of(field, fields)})"
    return ""


# Jinja's words for a field a context object lacks.
_NO_FIELD = re.compile(r"^'dict object' has no attribute '([^']+)'")


def folded_cjk_warnings(files: Iterable[Path]) -> list[Issue]:
    """Folded templates (`template: >`) whose line breaks join Chinese text: YAML turns each break
    into an ASCII space, and `满30减 10元` or `翻倍， 另送您` reaches the customer."""
    found: list[Issue] = []
    for file in files:
        lines = file.read_text(encoding="utf-8").splitlines()
        rule = ""
        for number, line in enumerate(lines, start=1):
            named = _RULE_ID.match(line)
            if named:
                rule = named[1]
            head = _FOLDED.match(line)
            if not head:
                continue
            indent = len(head[1])
            body: list[str] = []
            for following in lines[number:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following.strip())
            for a, b in zip(body, body[1:], strict=False):
                if a and b and (_is_cjk(a[-1]) or _is_cjk(b[0])):
                    found.append(Issue(str(file), number, "template",
                                       f"rule {rule}: the folded line break between {a[-3:]!r} and {b[:3]!r} "
                                       "becomes an ASCII space in Chinese text; join the lines, or write the "
                                       "template in double quotes with a \\ at the end of each line"))
                    break
    return found


_RULE_ID = re.compile(r"^\s*-\s+id:\s*(\S+)")
_FOLDED = re.compile(r"^(\s*)(?:-\s+)?template:\s*>[-+]?\s*$")


def _is_cjk(char: str) -> bool:
    return bool(SPACE_IN_CHINESE_CHARS.match(char))


def _in_quiet_hours(at: str, start: str, end: str) -> bool:
    """HH:MM text compares in clock order; quiet hours usually wrap midnight (22:00-08:00)."""
    if start <= end:
        return start <= at < end
    return at >= start or at < end
