"""The playbook schema: what an operator may write in `sops/*.yaml`.

Every model forbids unknown keys, so a typo is an error rather than a silently ignored setting.
Conditions stay plain dicts here; `playbook.conditions` checks and compiles them.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from privdom.bounds import DATE_RANGE, MAX_COUNT, MAX_DAYS, date_in_range

STAGES = ("pull_in", "retention", "conversion")
GROUP_TYPES = ("welfare", "service", "interest")
ACTIONS = ("group_post", "private_message", "moment_post", "call", "invite_to_group", "coupon")
CONTENT_TYPES = ("rules", "value", "product", "interaction", "after_sales", "culture")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Stage = Literal["pull_in", "retention", "conversion"]
GroupType = Literal["welfare", "service", "interest"]
Action = Literal["group_post", "private_message", "moment_post", "call", "invite_to_group", "coupon"]
ContentType = Literal["rules", "value", "product", "interaction", "after_sales", "culture"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# A condition over member metrics, e.g. {"recency_days": {"gt": 60}} or {"all": [...]}.
Condition = dict[str, Any]

# Money in a playbook (coupon values, thresholds, discounts) is a price: a billion yuan is none.
MAX_YUAN = 10**9
# A node's offset may be negative (T-3 warm-up), within the same bound as every other window.
Offset = Annotated[int, Field(ge=-MAX_DAYS, le=MAX_DAYS)]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_hhmm(value: object) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time (HH:MM)")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(Model):
    zh: str
    en: str


class Level(Model):
    """One tier. A member is at the highest level whose `min` their metric reaches."""

    id: str
    zh: str
    en: str
    min: int = Field(ge=0, le=MAX_COUNT)
    points_per_yuan: float = Field(1.0, ge=0, le=MAX_YUAN, allow_inf_nan=False)
    member_day_discount_yuan: int = Field(0, ge=0, le=MAX_YUAN)
    perks: list[str] = []


class Tiers(Model):
    # imported_growth: a member export's own growth value (成长值) where it has one; max_growth: the
    # larger of that and the growth computed from spend (see docs/metrics.md).
    metric: Literal["growth", "imported_growth", "max_growth", "spend_total", "spend_365"] = "growth"
    growth_per_yuan: int = Field(10, ge=1, le=MAX_YUAN)
    # None keeps a tier for life; N re-evaluates the metric over the last N days.
    downgrade_window_days: int | None = Field(None, ge=1, le=MAX_DAYS)
    levels: list[Level]

    @property
    def in_growth(self) -> bool:
        """Whether thresholds are growth points (a growth metric) rather than yuan of spend."""
        return self.metric in ("growth", "imported_growth", "max_growth")


class Segment(Model):
    """A lifecycle segment; the first segment whose `when` matches wins, `when: null` is 'otherwise'."""

    id: str
    zh: str
    en: str
    when: Condition | None = None
    advice: str = ""


class Rfm(Model):
    scores: int = Field(5, ge=2, le=10)


class Koc(Model):
    min_orders: int = Field(3, ge=0, le=MAX_COUNT)
    min_messages_30: int = Field(20, ge=0, le=MAX_COUNT)
    min_images_30: int = Field(3, ge=0, le=MAX_COUNT)


class Coupon(Model):
    label: str
    value_yuan: float = Field(gt=0, le=MAX_YUAN, allow_inf_nan=False)
    threshold_yuan: float = Field(0, ge=0, le=MAX_YUAN, allow_inf_nan=False)
    valid_days: int = Field(ge=1, le=MAX_DAYS)


class Node(Model):
    """A marketing node. Exactly one of `date` (MM-DD, solar), `lunar` (MM-DD lunar) or `weekday`."""

    id: str
    zh: str
    en: str
    date: str | None = None
    lunar: str | None = None
    weekday: Weekday | None = None


class CalendarSettings(Model):
    lunar_festivals: bool = True
    nodes: list[Node] = []


class QuietHours(Model):
    start: str = "22:00"
    end: str = "08:00"

    @field_validator("start", "end")
    @classmethod
    def _is_time(cls, value: str) -> str:
        parse_hhmm(value)
        return value


class Limits(Model):
    private_touches_per_7_days: int = Field(2, ge=0, le=MAX_COUNT)
    owner_daily_capacity: int = Field(200, ge=0, le=MAX_COUNT)
    quiet_hours: QuietHours = QuietHours()
    default_owner: str = "运营"


class _At(Model):
    at: str = "10:00"

    @field_validator("at")
    @classmethod
    def _is_time(cls, value: str) -> str:
        parse_hhmm(value)
        return value


class DailyTrigger(_At):
    trigger: Literal["daily"]
    weekdays: list[Weekday] = []
    from_date: date | None = Field(None, alias="from")
    to_date: date | None = Field(None, alias="to")

    @field_validator("from_date", "to_date")
    @classmethod
    def _in_range(cls, value: date | None) -> date | None:
        if value is not None and not date_in_range(value):
            raise ValueError(f"{value.isoformat()} is outside {DATE_RANGE}")
        return value


class NodeTrigger(_At):
    trigger: Literal["node"]
    node: str
    offset: Offset = 0


class MemberEventTrigger(_At):
    trigger: Literal["joined", "joined_group", "first_order", "birthday", "tier_up"]
    # A birthday is known in advance, so it may come early: -3 is a cake reminder 3 days before
    # (at most a year before: the next birthday is never further away).
    offset: int = Field(0, ge=-366, le=MAX_DAYS)
    tier: str | None = None  # tier_up only: fire for reaching this tier

    @field_validator("offset")
    @classmethod
    def _early_only_for_birthdays(cls, value: int, info: ValidationInfo) -> int:
        trigger = info.data.get("trigger")
        if value < 0 and trigger != "birthday":
            raise ValueError(
                f"expected a number >= 0, got {value} (only birthday and node events are known in advance)"
            )
        return value


class NthOrderTrigger(_At):
    trigger: Literal["nth_order"]
    n: int = Field(ge=2, le=MAX_COUNT)
    offset: int = Field(0, ge=0, le=MAX_DAYS)


class EnteredSegmentTrigger(_At):
    trigger: Literal["entered_segment"]
    segment: str
    offset: int = Field(0, ge=0, le=MAX_DAYS)


class InactiveDaysTrigger(_At):
    trigger: Literal["inactive_days"]
    days: int = Field(ge=1, le=MAX_DAYS)


class GroupCreatedTrigger(_At):
    trigger: Literal["group_created"]
    offset: int = Field(0, ge=0, le=MAX_DAYS)


class GroupSilentTrigger(_At):
    trigger: Literal["group_silent"]
    days: int = Field(ge=1, le=MAX_DAYS)


class GroupNearCapacityTrigger(_At):
    trigger: Literal["group_near_capacity"]
    ratio: float = Field(0.9, gt=0, le=1)


Trigger = Annotated[
    DailyTrigger
    | NodeTrigger
    | MemberEventTrigger
    | NthOrderTrigger
    | EnteredSegmentTrigger
    | InactiveDaysTrigger
    | GroupCreatedTrigger
    | GroupSilentTrigger
    | GroupNearCapacityTrigger,
    Field(discriminator="trigger"),
]

MEMBER_TRIGGERS = frozenset(
    {"joined", "joined_group", "first_order", "nth_order", "birthday", "tier_up", "entered_segment",
     "inactive_days"}
)
GROUP_TRIGGERS = frozenset({"group_created", "group_silent", "group_near_capacity"})
CALENDAR_TRIGGERS = frozenset({"daily", "node"})


class Audience(Model):
    tiers: list[str] = []
    segments: list[str] = []
    rfm_classes: list[str] = []
    group_types: list[GroupType] = []
    tags: list[str] = []
    owner: str | None = None
    koc: bool | None = None
    where: Condition | None = None


class Rule(Model):
    id: str
    title: Title
    when: Trigger
    audience: Audience = Audience()
    action: Action
    content_type: ContentType
    template: str
    coupon: str | None = None
    priority: int = Field(50, ge=0, le=100)
    # Exports arrive the morning after the day they cover, so an event is known a day late: one day
    # of catch-up by default, or yesterday's joins would never be welcomed.
    catch_up_days: int = Field(1, ge=0, le=MAX_DAYS)
    # The share of the rule's members kept out as a control group for `privdom review`: their
    # tasks are planned and saved but never sent. More than half would leave too few treated.
    holdout: float = Field(0, ge=0, le=0.5)
    # Days after a task in which `privdom review` looks for an order (default: its --window).
    review_window: int | None = Field(None, ge=1, le=365)


class Stages(Model):
    pull_in: list[Rule] = []
    retention: list[Rule] = []
    conversion: list[Rule] = []

    def rules(self) -> list[tuple[Stage, Rule]]:
        out: list[tuple[Stage, Rule]] = []
        for rule in self.pull_in:
            out.append(("pull_in", rule))
        for rule in self.retention:
            out.append(("retention", rule))
        for rule in self.conversion:
            out.append(("conversion", rule))
        return out


class Playbook(Model):
    brand: str = "privdom"
    timezone: str = "Asia/Shanghai"
    tiers: Tiers
    lifecycle: list[Segment]
    rfm: Rfm = Rfm()
    koc: Koc = Koc()
    coupons: dict[str, Coupon] = {}
    calendar: CalendarSettings = CalendarSettings()
    limits: Limits = Limits()
    stages: Stages = Stages()
    # rule id -> "file:line" of its template, filled in by the loader: a task the template fails
    # for names where to fix it.
    _template_origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: `Asia`, a folder
            raise ValueError(f"{value!r} is not a timezone of the zone database (e.g. Asia/Shanghai)") from None
        return value

    def template_origin(self, rule_id: str) -> str:
        return self._template_origins.get(rule_id, "")

    def locate_templates(self, origins: dict[str, str]) -> None:
        self._template_origins.update(origins)
