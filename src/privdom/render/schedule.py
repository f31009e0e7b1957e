"""`privdom schedule` output: table, json, csv, and ics (RFC 5545) for calendar apps."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from privdom.render import console, mask_text, print_json, write_csv
from privdom.render.plan import GROUP_TYPE_ZH
from privdom.render.table import Column, print_table
from privdom.schedule import Schedule

CSV_COLUMNS = (
    "uid",
    "date",
    "due_at",
    "group_id",
    "group_name",
    "group_type",
    "owner",
    "rule",
    "rule_title_zh",
    "content_type",
    "message",
    "reason",
)
POST_MINUTES = 15  # a calendar slot long enough to post and watch the first replies


def summary(group_type: str | None, title: str, group_name: str) -> str:
    kind = GROUP_TYPE_ZH.get(group_type or "", group_type or "群")
    return f"[{kind}] {title} · {group_name}"


SCHEDULE_TABLE = tuple(
    Column(header) for header in ("日期 date", "时间 time", "群 group", "规则 rule", "内容 message")
)


def masked(s: Schedule, show_pii: bool) -> Schedule:
    if show_pii:
        return s
    return s.model_copy(
        update={
            "posts": [
                p.model_copy(update={"message": mask_text(p.message), "group_name": mask_text(p.group_name)})
                for p in s.posts
            ]
        }
    )


def schedule(s: Schedule, fmt: str, show_pii: bool) -> None:
    s = masked(s, show_pii)
    if fmt == "json":
        print_json(s.model_dump(mode="json"))
    elif fmt == "csv":
        write_csv(
            CSV_COLUMNS,
            (
                [
                    p.uid,
                    p.date,
                    p.due_at,
                    p.group_id,
                    p.group_name,
                    p.group_type,
                    p.owner,
                    p.rule,
                    p.rule_title["zh"],
                    p.content_type,
                    p.message,
                    p.reason,
                ]
                for p in s.posts
            ),
        )
    elif fmt == "ics":
        sys.stdout.buffer.write(ics(s)) if hasattr(sys.stdout, "buffer") else sys.stdout.write(
            ics(s).decode()
        )
    else:
        rows = [
            [p.date, p.due_at[11:16], f"[{GROUP_TYPE_ZH.get(p.group_type or '', '')}] {p.group_name}",
             p.rule_title["zh"], p.message]
            for p in s.posts
        ]
        print_table(console(), f"{s.start} + {s.days} 天 days", SCHEDULE_TABLE, rows)
        if not s.posts:
            console(stderr=True).print("no group posts in this span", style="dim")


def ics(s: Schedule) -> bytes:
    # Imported here, not at the top: every privdom command loads this module at start-up, and
    # icalendar alone is about a tenth of that start-up; only this format needs it.
    from icalendar import Calendar, Event, Timezone

    zone = ZoneInfo(s.timezone)
    cal = Calendar()
    cal.add("prodid", "-//privdom//schedule//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", s.timezone)
    if s.posts:
        first = datetime.fromisoformat(s.posts[0].due_at)
        last = datetime.fromisoformat(s.posts[-1].due_at)
        cal.add_component(
            Timezone.from_tzinfo(
                zone, tzid=s.timezone, first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 1, 1)
            )
        )
    for p in s.posts:
        start = datetime.fromisoformat(p.due_at).astimezone(zone)
        event = Event()
        event.add("uid", p.uid)
        event.add("dtstamp", datetime.fromisoformat(f"{s.start}T00:00:00").replace(tzinfo=zone))
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=POST_MINUTES))
        event.add("summary", summary(p.group_type, p.rule_title["zh"], p.group_name))
        event.add("description", p.message)
        event.add("categories", [p.content_type])
        cal.add_component(event)
    return bytes(cal.to_ical())
