"""Marketing nodes: the dates a playbook's `node` triggers hang off.

Lunar festivals move every year, so their dates come from lunar_python's calendar conversion,
never from a typed table that silently runs out. Solar nodes (618, 双11) and weekly ones (member
day) come from the playbook's `calendar.nodes`.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from lunar_python import Lunar
from pydantic import BaseModel, ConfigDict

from privdom.playbook.models import WEEKDAYS, Playbook
from privdom.playbook.validate import LUNAR_FESTIVALS

# lunar: a lunar month-day (built-in festivals and playbook nodes alike), solar: a fixed month-day,
# weekly: a weekday such as member day.
Source = Literal["lunar", "solar", "weekly"]


class MarketingNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    zh: str
    en: str
    date: date
    source: Source


@lru_cache(maxsize=4096)  # the planner asks for the same few festivals day after day
def lunar_to_solar(lunar_year: int, month: int, day: int) -> date | None:
    """The solar date of a lunar month-day, or None when that lunar month is short (no 30th)."""
    try:
        solar = Lunar.fromYmd(lunar_year, month, day).getSolar()
    except Exception:  # noqa: BLE001 - lunar_python raises a bare Exception for a missing day
        return None
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def marketing_nodes(playbook: Playbook, start: date, days: int, only: str | None = None) -> list[MarketingNode]:
    """Every node dated in [start, start + days) (or only the node `only`), by date then id."""
    end = start + timedelta(days=days)
    out: list[MarketingNode] = []

    def keep(node_id: str, zh: str, en: str, day: date | None, source: Source) -> None:
        if day is not None and start <= day < end:
            out.append(MarketingNode(id=node_id, zh=zh, en=en, date=day, source=source))

    # A lunar year starts in late January or February, so the lunar year before `start`'s solar
    # year still has dates inside the range.
    lunar_years = range(start.year - 1, end.year + 1)
    solar_years = range(start.year, end.year + 1)
    if playbook.calendar.lunar_festivals:
        for node_id, (zh, en, month_day) in LUNAR_FESTIVALS.items():
            if only is not None and node_id != only:
                continue  # a lunar date costs milliseconds to work out: only the ones asked for
            month, day = (int(p) for p in month_day.split("-"))
            for year in lunar_years:
                keep(node_id, zh, en, lunar_to_solar(year, month, day), "lunar")
    for node in playbook.calendar.nodes:
        if only is not None and node.id != only:
            continue
        if node.lunar:
            month, day = (int(p) for p in node.lunar.split("-"))
            for year in lunar_years:
                keep(node.id, node.zh, node.en, lunar_to_solar(year, month, day), "lunar")
        elif node.date:
            month, day = (int(p) for p in node.date.split("-"))
            for year in solar_years:
                if month == 2 and day == 29 and not _leap(year):
                    continue  # a 02-29 node happens in leap years only
                keep(node.id, node.zh, node.en, date(year, month, day), "solar")
        elif node.weekday:
            first = start + timedelta(days=(WEEKDAYS.index(node.weekday) - start.weekday()) % 7)
            for week in range(0, (end - first).days, 7):
                keep(node.id, node.zh, node.en, first + timedelta(days=week), "weekly")
    return sorted(out, key=lambda n: (n.date, n.id))


def nodes_due(playbook: Playbook, node_id: str, day: date, offset: int) -> list[MarketingNode]:
    """The occurrences of `node_id` a trigger with `offset` fires for on `day` (offset -3 = T-3)."""
    target = day - timedelta(days=offset)
    return marketing_nodes(playbook, target, 1, only=node_id)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
