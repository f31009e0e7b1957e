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
from privdom.labels import RFM, resolve, segment_labels, tier_labels
from privdom.playbook import Playbook


class SegmentModel(StrEnum):
    lifecycle = "lifecycle"
    rfm = "rfm"


def members(
    ctx: typer.Context,
    date: DateOpt = None,
    tier: Annotated[
        str | None, typer.Option("--tier", help="Only this tier (id, Chinese or English name, e.g. gold or 金卡会员).")
    ] = None,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Only this lifecycle segment (id, Chinese or English name).")
    ] = None,
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
    from privdom.render import members as render
    ws = workspace(ctx)
    playbook = ws.playbook()
    as_of = ws.date_or_today(date)
    filters = ws.member_filters(
        tier=resolve(tier, "--tier", tier_labels(playbook)),
        segment=resolve(segment, "--segment", segment_labels(playbook)),
        rfm_class=resolve(rfm_class, "--rfm-class", RFM),
        owner=owner,
        tag=tag,
    )
    ws.warn_unknown_owner(owner)
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
    # The rows as the store reads them, not Member models: a million members stream straight out.
    rows = metrics.member_rows(ws.connect(), playbook, as_of, filters, render.QUERY_COLUMNS, limit)
    names = {"tier": tier_labels(playbook), "lifecycle": segment_labels(playbook), "rfm_class": RFM}
    render.members(rows, fmt.value, show_pii, lang=ws.lang, names=names)


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
    from privdom.render import members as render
    ws = workspace(ctx)
    profile = ws.member(member_id, ws.date_or_today(date))
    render.profile(profile, fmt.value, show_pii, lang=ws.lang)


def _what_if(playbook: Playbook, values: list[str] | None) -> dict[str, int]:
    """`silver=2500`, `银卡会员=2500` or `Silver=2500`: the tier by id or either label."""
    names = tier_labels(playbook)
    as_ids = []
    for value in values or []:
        tier, sep, number = value.partition("=")
        try:
            as_ids.append(f"{resolve(tier, '--what-if', names)}{sep}{number}")
        except PrivdomError:
            as_ids.append(value)  # parse_what_if words the error, with the whole value
    return segments.parse_what_if(playbook, as_ids)


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
    from privdom.render import members as render
    ws = workspace(ctx)
    playbook = ws.playbook()
    as_of = ws.date_or_today(date)
    changes = _what_if(playbook, what_if)
    render.distribution(ws.tiers(as_of, what_if=changes), fmt.value, lang=ws.lang)


def segments_cmd(
    ctx: typer.Context,
    date: DateOpt = None,
    model: Annotated[SegmentModel, typer.Option("--model", help="Lifecycle segments or RFM classes.")] = (
        SegmentModel.lifecycle
    ),
    fmt: FormatOpt = Format.table,
) -> None:
    """Members and spend per lifecycle segment or RFM class, plus the 80/20 line."""
    from privdom.render import members as render
    ws = workspace(ctx)
    as_of = ws.date_or_today(date)
    render.distribution(ws.segments(as_of, model=model.value), fmt.value, lang=ws.lang)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("members")(members)
    app.command("member")(member)
    app.command("tiers")(tiers)
    app.command("segments")(segments_cmd)
