"""`privdom members`, `member`, `tiers`, `segments`: who the members are, as of a date."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from privdom import metrics, segments
from privdom.bounds import MAX_COUNT
from privdom.cli.context import workspace
from privdom.cli.options import DateOpt, Format, FormatOpt, ShowPiiOpt, TableOrJson
from privdom.errors import PrivdomError
from privdom.playbook import Playbook
from privdom.render import members as render


class SegmentModel(StrEnum):
    lifecycle = "lifecycle"
    rfm = "rfm"


def _check(value: str | None, option: str, choices: list[str]) -> None:
    if value is not None and value not in choices:
        raise PrivdomError(
            f"{option} {value!r} is not one of the playbook's values",
            hint=f"use one of: {', '.join(choices)}",
        )


def members(
    ctx: typer.Context,
    date: DateOpt = None,
    tier: Annotated[str | None, typer.Option("--tier", help="Only this tier (id from the playbook).")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Only this lifecycle segment.")] = None,
    rfm_class: Annotated[
        str | None, typer.Option("--rfm-class", help="Only this RFM class, e.g. important_value.")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only members of this owner (添加人/导购).")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only members with this tag.")] = None,
    fmt: FormatOpt = Format.table,
    show_pii: ShowPiiOpt = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, max=MAX_COUNT, help="At most N members, highest spend first [table: 50]."),
    ] = None,
) -> None:
    """One row per member with every metric, tier, lifecycle segment, RFM scores and class."""
    ws = workspace(ctx)
    playbook = ws.playbook()
    as_of = ws.date_or_today(date)
    _check(tier, "--tier", [lv.id for lv in playbook.tiers.levels])
    _check(segment, "--segment", [s.id for s in playbook.lifecycle])
    _check(rfm_class, "--rfm-class", list(segments.RFM_CLASSES))
    wanted = {"tier": tier, "lifecycle": segment, "rfm_class": rfm_class, "owner": owner, "tag": tag}
    filters = {k: v for k, v in wanted.items() if v is not None}
    if fmt == Format.table and limit is None:
        limit = 50  # a terminal table of a million rows helps no one; json/csv stream everything
        typer.echo("showing the 50 highest-spending members; --limit N or --format csv for more", err=True)
    if fmt == Format.csv:
        render.members_csv(
            metrics.member_csv_rows(
                ws.connect(), playbook, as_of, filters, render.MEMBER_COLUMNS, render.QUERY_COLUMNS, show_pii, limit
            ),
            show_pii,
        )
        return
    rows = metrics.member_rows(ws.connect(), playbook, as_of, filters, render.QUERY_COLUMNS, limit)
    render.members(rows, fmt.value, show_pii)


def member(
    ctx: typer.Context,
    member_id: Annotated[
        str, typer.Argument(metavar="ID", help="The member's ID, exactly (leading zeros count).")
    ],
    date: DateOpt = None,
    fmt: Annotated[
        TableOrJson, typer.Option("--format", "-f", help="Output format.")
    ] = TableOrJson.table,
    show_pii: ShowPiiOpt = False,
) -> None:
    """One member's profile, with why: the tier threshold, the segment condition, RFM against the means."""
    ws = workspace(ctx)
    profile = metrics.member_profile(ws.connect(), ws.playbook(), member_id, ws.date_or_today(date))
    render.profile(profile, fmt.value, show_pii)


def _what_if(playbook: Playbook, values: list[str] | None) -> dict[str, int]:
    return segments.parse_what_if(playbook, values or [])


def tiers(
    ctx: typer.Context,
    date: DateOpt = None,
    what_if: Annotated[
        list[str] | None,
        typer.Option("--what-if", help="Try another threshold, e.g. silver=2500 (repeatable)."),
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Members and spend per tier, plus the 80/20 line; --what-if shows other thresholds' effect."""
    ws = workspace(ctx)
    playbook = ws.playbook()
    as_of = ws.date_or_today(date)
    changes = _what_if(playbook, what_if)
    conn = ws.connect()
    metrics.materialize(conn, playbook, as_of)  # the cached snapshot the other commands share
    render.distribution(segments.tier_distribution(conn, playbook, as_of, changes), fmt.value)


def segments_cmd(
    ctx: typer.Context,
    date: DateOpt = None,
    model: Annotated[SegmentModel, typer.Option("--model", help="Lifecycle segments or RFM classes.")] = (
        SegmentModel.lifecycle
    ),
    fmt: FormatOpt = Format.table,
) -> None:
    """Members and spend per lifecycle segment or RFM class, plus the 80/20 line."""
    ws = workspace(ctx)
    playbook = ws.playbook()
    as_of = ws.date_or_today(date)
    conn = ws.connect()
    metrics.materialize(conn, playbook, as_of)
    render.distribution(segments.segment_distribution(conn, playbook, as_of, model.value), fmt.value)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("members")(members)
    app.command("member")(member)
    app.command("tiers")(tiers)
    app.command("segments")(segments_cmd)
