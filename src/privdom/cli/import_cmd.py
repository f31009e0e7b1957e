"""`privdom import KIND FILE`: parse options, call ingest.import_file, render the report."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from privdom.cli.context import say_if_waiting, workspace
from privdom.cli.options import TableOrJson
from privdom.cli.output import after_commit
from privdom.errors import PrivdomError
from privdom.ingest import KINDS, SOURCES, ImportReport
from privdom.render import console, print_json, write_csv

Kind = Enum("Kind", {k.replace("-", "_"): k for k in KINDS}, type=str)  # type: ignore[misc]


SourceLayout = StrEnum("SourceLayout", {name: name for name in SOURCES})  # type: ignore[misc]


def _mappings(values: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        src, sep, field = value.partition("=")
        if not sep or not src.strip() or not field.strip():
            raise PrivdomError(f"--map {value!r} is not SRC=field", hint="e.g. --map '会员编码=member_id'")
        result[src.strip()] = field.strip()
    return result


def _check_rejects_path(path: Path) -> None:
    """--rejects is checked before anything is written: a rejects file that cannot be written
    after the import committed would lose the list of what was rejected."""
    where = path.parent if str(path.parent) else Path(".")
    problem = ""
    if path.is_dir():
        problem = "is a directory"
    elif not where.is_dir():
        problem = f"is in {where}, which does not exist"
    elif not os.access(where, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        problem = "cannot be written"
    if problem:
        raise PrivdomError(f"--rejects {path} {problem}; nothing was imported", hint="give a CSV path you can write")


def import_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="members | orders | groups | group-members | activity")],
    file: Annotated[Path, typer.Argument(help="CSV/TSV/XLSX export.")],
    encoding: Annotated[str, typer.Option(help="auto (BOM, UTF-8, then GB18030) or a codec name.")] = "auto",
    map_: Annotated[list[str] | None, typer.Option("--map", help="SRC=field; repeatable.")] = None,
    source: Annotated[SourceLayout, typer.Option(help="Known export layout.")] = SourceLayout("generic"),
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet [default: the first].")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report everything, write nothing.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Write rejected records to this CSV.")] = None,
    allow_missing: Annotated[
        list[str] | None,
        typer.Option("--allow-missing", help="Import without this needed field (orders: amount, paid_at); repeatable."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Read the file again even if it was imported.")] = False,
    encoding_errors: Annotated[
        str, typer.Option(help="strict, or replace: undecodable bytes become U+FFFD (needs --encoding).")
    ] = "strict",
    format_: Annotated[
        TableOrJson, typer.Option("--format", "-f", help="Output format.")
    ] = TableOrJson.table,
) -> None:
    """Import an export file (会员/订单/群/群成员/活跃) into the workspace, in one transaction."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
    ws = workspace(ctx)
    mappings = _mappings(map_ or [])
    if rejects is not None:
        _check_rejects_path(rejects)
    say_if_waiting(ws.db)

    def run(progress: Callable[[int, int | None], None] | None = None) -> ImportReport:
        return ws.import_file(
            kind.value,
            file,
            encoding=encoding,
            mappings=mappings,
            source=source.value,
            sheet=sheet,
            dry_run=dry_run,
            progress=progress,
            allow_missing=tuple(allow_missing or ()),
            force=force,
            encoding_errors=encoding_errors,
        )

    if sys.stderr.isatty():
        # A progress bar only where someone watches; scripts and logs get the report alone.
        with Progress(BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=console(stderr=True)) as bar:
            task = bar.add_task("import", total=file.stat().st_size if file.is_file() else None)
            report = run(lambda done, total: bar.update(task, completed=done))
    else:
        report = run()
    changed = not report.dry_run and not report.already_imported
    saved = f"imported {report.file} (import #{report.import_id})" if changed else "nothing was imported"
    writable = "give --rejects and the output a place that can be written"
    kept = "the import is kept (importing the file again changes nothing); " if changed else ""
    with after_commit(saved, hint=kept + writable):
        _output(report, rejects, format_)


def _output(report: ImportReport, rejects: Path | None, format_: TableOrJson) -> None:
    if rejects is not None:
        with rejects.open("w", encoding="utf-8", newline="") as out:
            write_csv(
                ["record", "line", "reason", "raw"],
                ((r.record, r.line, r.reason, r.raw) for r in report.rejects),
                out,
            )
    if format_ is TableOrJson.json:
        print_json(report.model_dump(mode="json"))
    else:
        _table(report)


def _table(report: ImportReport) -> None:
    from rich.table import Table

    out = console()
    if report.already_imported:
        typer.echo(
            f"{report.file} was already imported (import #{report.import_id}); nothing changed"
            " / 文件已导入，未做改动",
            err=True,
        )
    title = f"import {report.kind} {report.file}" + (
        " (dry run: nothing written / 试运行，未写入)" if report.dry_run else ""
    )
    table = Table(title=title, show_header=True)
    table.add_column("项目 / item")
    table.add_column("数量 / count", justify="right")
    rows = [
        ("读取 / read", report.read),
        ("新增 / inserted", report.inserted),
        ("更新 / updated", report.updated),
        ("未变 / unchanged", report.unchanged),
        ("合并 / merged", report.merged),
        ("重复跳过 / duplicates skipped", report.duplicates),
        ("空行 / blank", report.blank),
        ("重复表头 / repeated headers", report.repeated_headers),
        ("拒绝 / rejected", report.rejected),
    ]
    rows += [(f"  拒绝 / rejected: {reason}", n) for reason, n in report.rejected_by_reason.items()]
    if report.kind == "orders":
        rows.append(("新建会员 / members created", report.members_created))
        rows.append(("  退款更新 / refunds updated", report.refunds_updated))
        rows.append(("  状态更新 / status updated", report.status_updated))
    if report.kind == "members":
        rows.append(("改用会员号 / members given an id", report.members_adopted))
    rows += [(f"  置空 / nulled: {column}", n) for column, n in report.nulled_by_column.items()]
    rows += [
        (f"  数字编号 / ids stored as numbers (leading zeros may be lost): {column}", n)
        for column, n in report.numeric_ids.items()
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    table.add_row("编码 / encoding", report.encoding)
    table.add_row("秒 / seconds", f"{report.seconds:.2f}")
    out.print(table)
    if report.unmapped:
        # Every column no field read, so a misnamed amount or time never goes unnoticed.
        unread = Table(title="未读取的列 / columns not read (kept in extra)", show_header=True)
        unread.add_column("列 / column")
        unread.add_column("最接近 / closest field")
        unread.add_column("映射 / to read it")
        for column in report.unmapped:
            unread.add_row(column.column, column.closest or "-", column.map or "--map 'COLUMN=field'")
        out.print(unread)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
