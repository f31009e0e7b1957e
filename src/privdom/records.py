"""One member as `privdom members` prints it: the record the library yields, one per member."""

from __future__ import annotations

from pydantic import BaseModel


class Member(BaseModel):
    """A member's metrics as of a date. Money is in yuan as text (`"12.50"`), never a float; the
    phone is masked unless asked for. The fields are those of `members --format json`."""

    member_id: str
    name: str | None
    nickname: str | None
    phone: str | None
    owner: str | None
    store: str | None
    region: str | None
    tags: list[str]
    birthday: str | None
    birthday_md: str | None
    joined_date: str | None
    orders_total: int | None
    purchase_days: int | None
    spend_total: str | None
    first_order_date: str | None
    last_order_date: str | None
    recency_days: int | None
    tenure_days: int | None
    orders_365: int | None
    spend_365: str | None
    growth: int | None
    points: int | None
    messages_30: int | None
    images_30: int | None
    tier: str | None
    tier_since: str | None
    lifecycle: str | None
    segment_since: str | None
    rfm_r: int | None
    rfm_f: int | None
    rfm_m: int | None
    rfm_class: str | None
    koc: bool
    koc_rank: int | None
    basis: str | None
