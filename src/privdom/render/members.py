"""Output of `members`, `member`, `tiers` and `segments`: money in yuan, phones masked unless asked."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

from rich.table import Table

from privdom.labels import ACTIONS, Labels, Lang, label, pick
from privdom.metrics import MemberProfile
from privdom.render import (
    FORMULA_START,
    console,
    csv_cell,
    dumps,
    mask_phone,
    mask_text,
    print_json,
    write_csv,
    yuan,
)
from privdom.render.table import cell_text, one_line
from privdom.segments import Distribution

# The columns `privdom members` prints, in order (a stable interface for scripts).
MEMBER_COLUMNS = [
    "member_id", "name", "nickname", "phone", "owner", "store", "region", "tags", "birthday",
    "birthday_md", "joined_date", "orders_total", "purchase_days", "spend_total", "first_order_date",
    "last_order_date", "recency_days", "tenure_days", "orders_365", "spend_365", "growth", "points",
    "messages_30", "images_30", "tier", "tier_since", "lifecycle", "segment_since", "rfm_r", "rfm_f",
    "rfm_m", "rfm_class", "koc", "koc_rank", "basis",
]  # fmt: skip
# What a query must select to fill MEMBER_COLUMNS (phone_display stands in for an unknown phone).
QUERY_COLUMNS = [*MEMBER_COLUMNS, "phone_display"]
MONEY = ("spend_total", "spend_365")
_TABLE_COLUMNS = [
    "member_id", "name", "phone", "owner", "tier", "lifecycle", "rfm_class", "orders_total",
    "spend_total", "last_order_date", "recency_days", "koc",
]  # fmt: skip


# Table headers in both languages (the JSON and CSV keys stay the ids).
HEADERS: dict[str, tuple[str, str]] = {
    "member_id": ("会员ID", "member_id"), "name": ("姓名", "name"), "phone": ("手机", "phone"),
    "owner": ("负责人", "owner"), "tier": ("等级", "tier"), "lifecycle": ("生命周期", "lifecycle"),
    "rfm_class": ("RFM分类", "rfm_class"), "orders_total": ("订单数", "orders"), "spend_total": ("消费额", "spend"),
    "last_order_date": ("最后下单", "last order"), "recency_days": ("未购天数", "recency days"), "koc": ("KOC", "koc"),
    "id": ("ID", "id"), "zh": ("中文名", "zh"), "en": ("英文名", "en"), "min": ("门槛", "min"),
    "members": ("会员数", "members"), "members_now": ("现有会员数", "members now"), "share": ("占比", "share"),
    "spend": ("消费额", "spend"), "spend_share": ("消费占比", "spend share"),
    "metric": ("指标", "metric"), "value": ("值", "value"),
}  # fmt: skip


def header(key: str, lang: Lang) -> str:
    """A column header; in both languages the Chinese stands over the English, to keep columns narrow."""
    zh, en = HEADERS.get(key, (key, key))
    return f"{zh}\n{en}" if lang == "both" and zh != en else pick(zh, en, lang)


def member_record(row: Sequence[Any], show_pii: bool) -> dict[str, Any]:
    """One query row (QUERY_COLUMNS order) -> the output record."""
    rec = dict(zip(QUERY_COLUMNS, row, strict=True))
    display = rec.pop("phone_display")
    rec["phone"] = (rec["phone"] if show_pii else mask_phone(rec["phone"])) or display
    if not show_pii:  # a name that is a phone number (a contact saved by number) is one too
        for key in ("name", "nickname"):
            if rec.get(key):
                rec[key] = mask_text(rec[key])
    for key in MONEY:
        rec[key] = yuan(rec[key])
    rec["tags"] = json.loads(rec["tags"]) if rec["tags"] else []
    rec["koc"] = bool(rec["koc"])
    return rec


def members(
    rows: Iterable[Sequence[Any]],
    fmt: str,
    show_pii: bool,
    out: IO[str] | None = None,
    *,
    lang: Lang = "both",
    names: dict[str, Labels] | None = None,
) -> None:
    """`names`: labels by column (tier, lifecycle, rfm_class) for the table's cells; JSON and CSV
    keep the ids."""
    out = out or sys.stdout
    records = (member_record(row, show_pii) for row in rows)
    if fmt == "csv":
        write_csv(
            MEMBER_COLUMNS,
            (_csv_values(r) for r in records),
            out,
        )
    elif fmt == "json":
        # Streamed one record at a time: a million members never sit in memory.
        out.write("[")
        separator = "\n"
        for rec in records:
            out.write(separator + _indent(dumps(rec)))
            separator = ",\n"
        out.write("]\n" if separator == "\n" else "\n]\n")
    else:
        table = Table(*(header(k, lang) for k in _TABLE_COLUMNS), title=None)
        cell: Lang = "en" if lang == "en" else "zh"
        for rec in records:
            values = [
                label(names[k], rec[k], cell) if names and k in names and rec[k] is not None else rec[k]
                for k in _TABLE_COLUMNS
            ]
            table.add_row(*[cell_text("" if v is None else str(v)) for v in values])  # text, one line
        console().print(table)


def members_csv(rows: Iterable[tuple[bool, Sequence[Any]]], show_pii: bool, out: IO[str] | None = None) -> None:
    """`members --format csv` from `metrics.member_csv_rows`: the same bytes as `members(rows, "csv")`,
    with the cells SQLite prepared written as they are and any other row converted here."""
    writer = csv.writer(out or sys.stdout, lineterminator="\n")
    writer.writerow(MEMBER_COLUMNS)
    starts = frozenset(FORMULA_START)
    for ready, row in rows:
        if ready:  # csv_cell inlined: this loop runs for every cell of a million members
            writer.writerow([("'" + v) if v.__class__ is str and v[:1] in starts else v for v in row])
        else:
            rec = member_record(row, show_pii)
            writer.writerow([csv_cell("" if v is None else v) for v in _csv_values(rec)])


def _csv_values(rec: dict[str, Any]) -> list[Any]:
    return [",".join(rec["tags"]) if k == "tags" else rec[k] for k in MEMBER_COLUMNS]


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def distribution(dist: Distribution, fmt: str, *, lang: Lang = "both") -> None:
    rows = [
        {
            "id": c.id,
            "zh": c.zh,
            "en": c.en,
            **({"min": c.min} if c.min is not None else {}),
            "members": c.members,
            **({"members_now": c.members_now} if c.members_now is not None else {}),
            "share": c.share,
            "spend": yuan(c.spend_fen),
            "spend_share": c.spend_share,
        }
        for c in dist.classes
    ]
    if fmt == "json":
        print_json(
            {
                "date": dist.date,
                "model": dist.model,
                "members": dist.members,
                "spend": yuan(dist.spend_fen),
                "classes": rows,
                "top20_members": dist.top20_members,
                "top20_spend_share": dist.top20_spend_share,
            }
        )
        return
    if fmt == "csv":
        columns = list(rows[0]) if rows else ["id"]
        write_csv(columns, ([r.get(k) for k in columns] for r in rows))
        return
    keys = [k for k in (rows[0] if rows else ["id"]) if not (lang == "zh" and k == "en" or lang == "en" and k == "zh")]
    table = Table(*(header(k, lang) for k in keys), title=f"{dist.model} · {dist.date.isoformat()}")
    for r in rows:
        table.add_row(*[cell_text(_pct(k, r[k])) for k in keys])
    con = console()
    con.print(table)
    con.print(
        pick(
            f"80/20：前20%会员（{dist.top20_members}）贡献{dist.top20_spend_share:.1%}的消费",
            f"80/20: the top 20% of members ({dist.top20_members}) bring {dist.top20_spend_share:.1%} of spend",
            lang,
        )
    )


def _pct(key: str, value: Any) -> str:
    if key in ("share", "spend_share"):
        return f"{value:.1%}"
    return "" if value is None else str(value)


def profile(p: MemberProfile, fmt: str, show_pii: bool, *, lang: Lang = "both") -> None:
    data = profile_data(p, show_pii)
    if fmt == "json":
        print_json(data)
        return
    con = console()
    m = data["member"]
    con.print(
        f"{m['member_id']} {m['name'] or ''} {m['phone'] or ''} · owner {m['owner'] or '-'}", markup=False
    )
    t = data["tier"]
    line = f"tier 等级: {t['id']} {t['zh'] or ''} — {t['metric']} {t['value']} ≥ {t['threshold']}"
    if t["since"]:
        line += f" since {t['since']}"
    if t["next"]:
        line += f"; next {t['next']['id']} at {t['next']['min']} ({t['next']['distance']} to go)"
    con.print(line, markup=False)
    if t.get("export"):
        e = t["export"]
        said = f"export 导出: level {e['level'] or '-'}, growth {e['growth'] if e['growth'] is not None else '-'}"
        con.print(said + ("" if e["differs"] else " (agrees / 一致)"), markup=False)
        for why in e["why"]:
            con.print(f"  why 原因: {why}", markup=False)
    s = data["lifecycle"]
    cond = "otherwise" if s["condition"] is None else json.dumps(s["condition"], ensure_ascii=False)
    since = s["since"] or "?"
    con.print(f"segment 生命周期: {s['id']} {s['zh'] or ''} — {cond}, since {since}", markup=False)
    r = data["rfm"]
    if r:
        con.print(
            f"RFM: {r['class']} {r['zh']} — R{r['r']} F{r['f']} M{r['m']}; "
            f"recency {r['recency_days']} vs mean {r['mean_recency_days']}, "
            f"orders {r['orders_total']} vs {r['mean_orders_total']}, "
            f"spend {r['spend']} vs {r['mean_spend']}",
            markup=False,
        )
    else:
        con.print("RFM: no orders 无订单")
    table = Table(header("metric", lang), header("value", lang), title=None)
    for key in MEMBER_COLUMNS:
        table.add_row(key, cell_text("" if m[key] is None else str(m[key])))
    con.print(table)
    groups = ", ".join(f"{g['name'] or g['group_id']}" for g in data["groups"]) or "-"
    con.print(f"groups 社群: {groups}", markup=False)
    upcoming = data["upcoming_tasks"]
    con.print(pick("接下来的任务", "upcoming tasks", lang) + f": {len(upcoming)}", markup=False)
    cell: Lang = "en" if lang == "en" else "zh"
    for t in upcoming:
        state = label(UPCOMING_STATES, t["state"], cell)
        con.print(
            one_line(
                f"  {t['due_at'][:16].replace('T', ' ')} [{state}] {t['rule_title'][cell]} · "
                f"{label(ACTIONS, t['action'], cell)} · {t['owner'] or '-'} · {t['task_id']}"
            ),
            markup=False,
        )


def profile_data(p: MemberProfile, show_pii: bool) -> dict[str, Any]:
    row = [p.metrics.get(c) for c in QUERY_COLUMNS]
    tier = dict(p.tier)
    in_growth = tier["metric"] in ("growth", "imported_growth", "max_growth")
    if not in_growth:
        tier["value"] = yuan(tier["value"])
    if tier["next"]:
        nxt = dict(tier["next"])
        if not in_growth:
            nxt["distance"] = yuan(nxt["distance"])
        nxt["spend_needed"] = yuan(nxt.pop("spend_fen_needed"))
        tier["next"] = nxt
    rfm = dict(p.rfm) if p.rfm else None
    if rfm:
        rfm["spend"] = yuan(rfm.pop("spend_fen"))
        rfm["mean_spend"] = yuan(rfm.pop("mean_spend_fen"))
    return {
        "date": p.as_of,
        "member": member_record(row, show_pii),
        "tier": tier,
        "lifecycle": p.lifecycle,
        "rfm": rfm,
        "groups": p.groups if show_pii else [{**g, "name": g["name"] and mask_text(g["name"])} for g in p.groups],
        "upcoming_tasks": [_masked_task(t.model_dump(mode="json"), show_pii) for t in p.upcoming_tasks],
    }


UPCOMING_STATES = {"saved": ("已保存", "saved"), "planned": ("将触发", "planned")}


def _masked_task(task: dict[str, Any], show_pii: bool) -> dict[str, Any]:
    if show_pii:
        return task
    return {k: mask_text(v) if isinstance(v, str) else v for k, v in task.items()}
