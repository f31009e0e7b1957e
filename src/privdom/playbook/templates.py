"""Message templates: sandboxed Jinja2, so a playbook can fill in names but never run code.

StrictUndefined turns a misspelt field into an error at `privdom sop validate` time instead of an
empty gap in a message a customer reads.

What a template may use depends on the rule (`context_names`): `brand` and `date` always; `member`
and `tier` when the rule is about a member; `group` when it is about a group (or the member joined
one, or is invited to one); `coupon` when the rule names a coupon; `node` for marketing-node rules.
The planner passes exactly these names; `SAMPLE_CONTEXT` shows every field of each.

Real rows have holes (no name, no owner, no orders). `member_context` and `group_context` fill each
field with its documented fallback (docs/playbooks.md); a field with no sensible fallback is
`Missing`: false in `or` and `if`, but printing it fails the task, which the planner then blocks
with its cause, so a customer never reads `None`.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from jinja2 import StrictUndefined, Template, TemplateError, meta

from privdom.errors import PrivdomError
from privdom.playbook.models import GROUP_TRIGGERS, MEMBER_TRIGGERS, Coupon, Level, Playbook, Rule
from privdom.playbook.sandbox import BoundedSandbox

if TYPE_CHECKING:
    from privdom.calendar import MarketingNode

_ENV = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)

MEMBER_ACTIONS = frozenset({"private_message", "call", "coupon", "invite_to_group"})

SAMPLE_CONTEXT: dict[str, Any] = {
    "brand": "茶语 TeaTalk",
    "date": "2026-11-23",
    "member": {
        "member_id": "000123",
        "name": "王小雨",
        "nickname": "小雨",
        "tier": "silver",
        "tier_zh": "银卡会员",
        "lifecycle": "mature",
        "points": 1280,
        "owner": "小茶",
        "store": "静安店",
        "region": "上海",
        "orders_total": 12,
        "spend_total_yuan": "386.50",
        "last_order_date": "2026-11-02",
        "next_tier": "gold",
        "next_tier_zh": "金卡会员",
        "next_tier_gap_yuan": "213.50",
    },
    "group": {
        "group_id": "g-welfare-01",
        "name": "茶语福利1群",
        "type": "welfare",
        "size": 186,
        "capacity": 200,
    },
    "coupon": {
        "label": "复购券",
        "value_yuan": "5",
        "threshold_yuan": "30",
        "valid_days": 3,
        "expires_on": "2026-11-25",
    },
    "tier": {"id": "silver", "zh": "银卡会员", "en": "Silver", "member_day_discount_yuan": 8},
    "node": {"id": "double11", "zh": "双11", "en": "Singles' Day", "date": "2026-11-11", "days_left": 3},
}


def context_names(rule: Rule) -> frozenset[str]:
    """The top-level names the planner provides when rendering `rule`'s template."""
    trigger = rule.when.trigger
    names = {"brand", "date"}
    if trigger in MEMBER_TRIGGERS or rule.action in MEMBER_ACTIONS:
        names |= {"member", "tier"}
    about_group = rule.action in ("group_post", "invite_to_group") or trigger == "joined_group"
    if about_group or trigger in GROUP_TRIGGERS:
        names.add("group")
    if rule.coupon is not None:
        names.add("coupon")
    if trigger == "node":
        names.add("node")
    return frozenset(names)


def render(template: str, context: dict[str, Any]) -> str:
    """The message for one task. A broken template is the playbook's fault, so it is a PrivdomError."""
    problem, text = _render(template, context)
    if problem is not None:
        raise PrivdomError(f"template: {problem}", hint="run `privdom sop validate` to check every template")
    return text


def check_template(template: str, names: frozenset[str] | None = None) -> str | None:
    """What is wrong with `template` when rendered with the sample values of `names`, or None."""
    context = SAMPLE_CONTEXT if names is None else {k: v for k, v in SAMPLE_CONTEXT.items() if k in names}
    problem, _ = _render(template, context)
    return problem


@lru_cache(maxsize=512)
def compiled(template: str) -> Template:
    """Each template is compiled once per process, for `sop validate` and every task alike: compiling
    costs ~2.5 ms, which is seconds for a morning with thousands of tasks."""
    return _ENV.from_string(template)


@lru_cache(maxsize=512)
def names_read(template: str) -> frozenset[str] | None:
    """The top-level names `template` reads, or None when it is not a valid template."""
    try:
        return frozenset(meta.find_undeclared_variables(_ENV.parse(template)))
    except TemplateError:
        return None


def _render(template: str, context: dict[str, Any]) -> tuple[str | None, str]:
    try:
        return None, compiled(template).render(context).strip()
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (template line {line})" if line and "\n" in template.strip() else ""
        return f"{exc.message or type(exc).__name__}{where}", ""


def render_problem(template: str, context: dict[str, Any]) -> tuple[str | None, str]:
    """(problem, text) for one task. Anything a template raises is a problem of that task, not of
    the plan: a division by a member's zero orders, a value out of range, a sandbox refusal."""
    try:
        return _render(template, context)
    except Exception as exc:  # noqa: BLE001 - the template is the operator's code; its failure is data
        return f"{type(exc).__name__}: {exc}", ""


class NotAPrice(PrivdomError, ValueError):
    """A playbook number no message can print as a price: the operator's to fix (a planned task
    with it is blocked; anywhere else it is an error line)."""


def yuan_text(value: float | int) -> str:
    """5.0 -> '5', 12.5 -> '12.5': how a price reads in a message. A value no price can have
    (infinite, not a number, a billion yuan or more) raises ValueError: the task is blocked rather
    than a customer reading 'Infinity'."""
    if not math.isfinite(value) or abs(value) >= 1e9:
        raise NotAPrice(f"{value!r} is not a price in yuan", hint="fix the coupon's value_yuan or threshold_yuan")
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def coupon_context(coupon: Coupon, issued_on: date) -> dict[str, Any]:
    """The `coupon` fields for a coupon issued on `issued_on` (valid that day and valid_days - 1 more)."""
    return {
        "label": coupon.label,
        "value_yuan": yuan_text(coupon.value_yuan),
        "threshold_yuan": yuan_text(coupon.threshold_yuan),
        "valid_days": coupon.valid_days,
        "expires_on": (issued_on + timedelta(days=coupon.valid_days - 1)).isoformat(),
    }


def tier_context(level: Level) -> dict[str, Any]:
    return {"id": level.id, "zh": level.zh, "en": level.en,
            "member_day_discount_yuan": level.member_day_discount_yuan}


def node_context(node: MarketingNode, today: date) -> dict[str, Any]:
    return {"id": node.id, "zh": node.zh, "en": node.en, "date": node.date.isoformat(),
            "days_left": (node.date - today).days}


class Missing(StrictUndefined):
    """A field this member or group has no value for (no orders yet, no store, the top tier has no
    next tier). `{{ x or '...' }}` and `{% if x %}` read it as false; printing it, slicing it or
    computing with it raises, so the task is blocked with `hint` as its cause instead of reading
    'None'."""

    __slots__ = ()

    def __bool__(self) -> bool:  # type: ignore[override]
        return False


def _missing(name: str, why: str) -> Missing:
    return Missing(hint=f"{name} is empty {why}")


class Row(Protocol):
    """A sqlite3.Row of member_metrics or groups, or a dict with the same columns."""

    def __getitem__(self, key: str, /) -> Any: ...


# Fallbacks when the data has no value (documented in docs/playbooks.md, "Templates").
YOU = "您"  # a member with neither name nor nickname is addressed politely, never with a blank
NO_STORE = "门店"  # "到门店找店长" still reads right when the member's store is unknown


def member_context(m: Row, playbook: Playbook) -> dict[str, Any]:
    """The `member` fields of one member_metrics row, every hole filled by its fallback."""
    tiers = playbook.tiers
    levels = sorted(tiers.levels, key=lambda lv: lv.min)
    current = next((lv for lv in levels if lv.id == m["tier"]), None)
    nxt = next((lv for lv in levels if current is not None and lv.min > current.min), None)
    name = _text(m["name"])
    nickname = _text(m["nickname"])
    why = "for this member"
    ctx: dict[str, Any] = {
        "member_id": m["member_id"],
        "name": name or nickname or YOU,
        "nickname": nickname or name or YOU,
        "tier": m["tier"] if current is not None else _missing("member.tier", why),
        "tier_zh": current.zh if current is not None else _missing("member.tier_zh", why),
        "lifecycle": m["lifecycle"] if m["lifecycle"] else _missing("member.lifecycle", why),
        "points": m["points"] or 0,
        "owner": _text(m["owner"]) or playbook.limits.default_owner,
        "store": _text(m["store"]) or NO_STORE,
        "region": _text(m["region"]) or _missing("member.region", why),
        "orders_total": m["orders_total"] or 0,
        "spend_total_yuan": _yuan_fen(m["spend_total"] or 0),
        "last_order_date": m["last_order_date"] or _missing("member.last_order_date", "(no order yet)"),
    }
    if nxt is None:
        top = "(already at the top tier)"
        ctx["next_tier"] = _missing("member.next_tier", top)
        ctx["next_tier_zh"] = _missing("member.next_tier_zh", top)
        ctx["next_tier_gap_yuan"] = _missing("member.next_tier_gap_yuan", top)
    else:
        value = (m["tier_metric"] if tiers.metric.endswith("_growth") else m[tiers.metric]) or 0
        # growth thresholds are growth points; spend thresholds are yuan against fen metrics
        gap = (nxt.min - value) * 100 // tiers.growth_per_yuan if tiers.in_growth else nxt.min * 100 - value
        ctx["next_tier"] = nxt.id
        ctx["next_tier_zh"] = nxt.zh
        ctx["next_tier_gap_yuan"] = _yuan_fen(max(gap, 0))
    return ctx


def group_context(g: Row) -> dict[str, Any]:
    """The `group` fields of one groups row; a group without a name is called by its id."""
    why = "for this group"
    return {
        "group_id": g["group_id"],
        "name": _text(g["name"]) or g["group_id"],
        "type": g["type"] or _missing("group.type", why),
        "size": g["size"] if g["size"] is not None else _missing("group.size", why),
        "capacity": g["capacity"] if g["capacity"] is not None else _missing("group.capacity", why),
    }


# A line break, tab or other control character in a name or store from an export would reach the
# customer's message as it is (a name `李四\n- [ ] 伪造` writes a second line into it); bidi
# overrides turn the text round. They collapse to one space; a joiner inside an emoji stays.
_CONTROL_RUNS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def _text(value: Any) -> str:
    """A field from the data as one line of text: whitespace and control characters collapse to
    one space."""
    return _CONTROL_RUNS.sub(" ", str(value)).strip() if value is not None else ""


def _yuan_fen(fen: int) -> str:
    return f"{fen / 100:.2f}"


# ---------------------------------------------------------------- what a customer may read

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef"
# An ASCII space between two Chinese characters, or after Chinese punctuation: what a folded YAML
# line break leaves in Chinese text (`满30减 10元` is fine, `翻倍， 另送` and `满员！ 新朋友` are not).
SPACE_IN_CHINESE = re.compile(f"(?:[{_CJK}] +(?=[{_CJK}])|[{_CJK_PUNCT}] +(?=\\S))")
CJK_CHARS = re.compile(f"[{_CJK}{_CJK_PUNCT}]")
_PLACEHOLDER_WORDS = re.compile(r"\b(?:None|null|undefined|nan|NaN|Infinity)\b")


def message_problem(text: str) -> str | None:
    """Why a rendered message must not go to a customer, or None when it may."""
    if not text.strip():
        return "the message is empty"
    found = _PLACEHOLDER_WORDS.search(text)
    if found:
        return f"the message reads {found[0]!r}"
    if text.lstrip()[0] in "，。、；：！？,.;:!?":
        return "the message starts with punctuation (a name is missing)"
    return None


def space_in_chinese(text: str) -> str | None:
    """The first place where an ASCII space splits Chinese text (a few characters around it), or None."""
    found = SPACE_IN_CHINESE.search(text)
    if found is None:
        return None
    return text[max(found.start() - 2, 0) : found.end() + 3]
