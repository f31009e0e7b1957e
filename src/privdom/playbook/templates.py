"""Message templates: sandboxed Jinja2, so a playbook can fill in names but never run code.

StrictUndefined turns a misspelt field into an error at `privdom sop validate` time instead of an
empty gap in a message a customer reads.

What a template may use depends on the rule (`context_names`): `brand` and `date` always; `member`
and `tier` when the rule is about a member; `group` when it is about a group (or the member joined
one, or is invited to one); `coupon` when the rule names a coupon; `node` for marketing-node rules.
The planner passes exactly these names; `SAMPLE_CONTEXT` shows every field of each.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, Template, TemplateError, meta

from privdom.errors import PrivdomError
from privdom.playbook.models import GROUP_TRIGGERS, MEMBER_TRIGGERS, Coupon, Level, Rule
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
        "orders_total": 12,
        "spend_total_yuan": "386.50",
        "last_order_date": "2026-11-02",
        "next_tier": "gold",
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


def yuan_text(value: float | int) -> str:
    """5.0 -> '5', 12.5 -> '12.5': how a price reads in a message."""
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
