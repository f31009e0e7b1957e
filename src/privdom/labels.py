"""Every fixed label in two languages, and option values read in either of them.

The operator reads Chinese and a script may write English: an option that takes a stage, segment,
tier, RFM class, action or content type accepts its id, its Chinese label or its English label, and
tables print the labels in the language `--lang` picks (`zh`, `en` or `both`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from privdom.errors import PrivdomError
from privdom.playbook.models import Playbook
from privdom.segments import RFM_CLASSES

Lang = Literal["zh", "en", "both"]
LANGS: tuple[Lang, ...] = ("zh", "en", "both")

# id -> (Chinese, English)
Labels = Mapping[str, tuple[str, str]]

STAGES: Labels = {
    "pull_in": ("引流", "Pull in"),
    "retention": ("留存", "Retention"),
    "conversion": ("转化", "Conversion"),
}
ACTIONS: Labels = {
    "group_post": ("群发", "Group post"),
    "private_message": ("私聊", "Private message"),
    "moment_post": ("朋友圈", "Moments post"),
    "call": ("电话", "Call"),
    "invite_to_group": ("邀请入群", "Invite to group"),
    "coupon": ("发券", "Coupon"),
}
CONTENT_TYPES: Labels = {
    "rules": ("群规", "Rules"),
    "value": ("干货", "Value"),
    "product": ("产品营销", "Product"),
    "interaction": ("互动", "Interaction"),
    "after_sales": ("售后", "After-sales"),
    "culture": ("文化", "Culture"),
}
GROUP_TYPES: Labels = {
    "welfare": ("福利群", "Welfare"),
    "service": ("服务群", "Service"),
    "interest": ("兴趣群", "Interest"),
}
CAUSES: Labels = {
    "member_cap": ("会员7天触达已满", "member's 7-day cap reached"),
    "owner_capacity": ("负责人当日容量已满", "owner's daily capacity full"),
    "quiet_hours": ("免打扰时段", "quiet hours"),
}
STATUSES: Labels = {
    "open": ("待办", "open"),
    "done": ("已完成", "done"),
    "skipped": ("已跳过", "skipped"),
    "holdout": ("留出对照", "held out"),
}


def tier_labels(playbook: Playbook) -> Labels:
    return {lv.id: (lv.zh, lv.en) for lv in playbook.tiers.levels}


def segment_labels(playbook: Playbook) -> Labels:
    return {s.id: (s.zh, s.en) for s in playbook.lifecycle}


RFM: Labels = RFM_CLASSES


def resolve(value: str | None, option: str, labels: Labels) -> str | None:
    """The id `value` names: an id, a Chinese label or an English label (any case, spaces as `_`)."""
    if value is None:
        return None
    wanted = value.strip()
    folded = wanted.casefold().replace(" ", "_").replace("-", "_")
    for key, (zh, en) in labels.items():
        if wanted in (key, zh) or folded in (key.casefold(), en.casefold().replace(" ", "_").replace("-", "_")):
            return key
    choices = ", ".join(f"{key} ({zh}, {en})" for key, (zh, en) in labels.items())
    raise PrivdomError(f"{option} {value!r} is not one of {', '.join(labels)}", hint=f"use one of: {choices}")


def default_lang() -> Lang:
    """`PRIVDOM_LANG`, else both languages."""
    value = os.environ.get("PRIVDOM_LANG", "both").strip().lower()
    return value if value in LANGS else "both"  # type: ignore[return-value]


def label(labels: Labels, key: str | None, lang: Lang = "both") -> str:
    """The label of `key` in `lang` (`both`: Chinese then English); an unknown key as it is."""
    if key is None:
        return ""
    if key not in labels:
        return key
    return pick(*labels[key], lang=lang)


def pick(zh: str, en: str, lang: Lang = "both") -> str:
    """One text in the chosen language; `both` gives `中文 English` (one of them if they are equal)."""
    if lang == "zh" or zh == en:
        return zh
    if lang == "en":
        return en
    return f"{zh} {en}"
