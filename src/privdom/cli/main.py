"""The root app: global options, the error boundary, and command registration. Nothing else.

Every command is a process of its own, and each morning starts two (`import`, then `plan`): a
command module imports what only its commands use inside them, so that one command does not pay
for loading every other's parts (the lunar calendar, the import's readers, the report's charts).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
import warnings
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from privdom import __version__
from privdom.cli import (
    calendar_cmd,
    import_cmd,
    members_cmd,
    plan_cmd,
    report_cmd,
    review_cmd,
    schedule_cmd,
    simulate_cmd,
    sop_cmd,
    workspace_cmd,
)
from privdom.cli.context import Workspace
from privdom.cli.help_zh import translate
from privdom.errors import BUSY_HINT, PrivdomError, PrivdomWarning, operator_error, workspace_busy
from privdom.labels import Lang, default_lang
from privdom.store.scratch import running_import


def write_crash_log() -> Path:
    """Save the current traceback (no local variables: they may hold member data) to a log file."""
    log_dir = Path(os.environ.get("PRIVDOM_LOG_DIR") or tempfile.gettempdir())
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = log_dir / f"privdom-crash-{stamp}-{os.getpid()}.log"
    path.write_text(f"privdom {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}", encoding="utf-8")
    return path


class PrivdomGroup(TyperGroup):
    """Turns a user's mistake into exit 1 with `error:`/`hint:`, and a bug into exit 3 with a log;
    prints help in the language of `--lang`."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _translate_all(command, _lang(ctx))
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        translate(self, _lang(ctx), root=ctx.parent is None)
        super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PrivdomError as exc:
            _fail(ctx, exc)
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing was written", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `privdom members | head` closes the pipe early; that is not a failure.
            sys.stderr.close()
            ctx.exit(0)
        except Exception as exc:  # noqa: BLE001 - this is the one place bugs are caught
            if _is_command_line_exception(exc):
                raise
            if workspace_busy(exc):
                since = running_import(ctx.obj.db) if ctx.obj else None
                what = f"an import started at {since}" if since else "another privdom command is writing to it"
                _fail(ctx, PrivdomError(f"the workspace is busy ({what})", BUSY_HINT))
            found = operator_error(exc, ctx.obj.db if ctx.obj else "the workspace")
            if found is not None:
                _fail(ctx, found)
            log = write_crash_log()
            typer.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            typer.echo(f"the traceback is in {log}; please report it", err=True)
            ctx.exit(3)


def _lang(ctx: Any) -> Lang:
    """`--lang` when the command line has been read that far, else PRIVDOM_LANG, else both."""
    root = ctx.find_root()
    value = root.params.get("lang") if root.params else None
    return value.value if isinstance(value, LangOpt) else default_lang()


def _translate_all(command: Any, lang: Lang) -> None:
    translate(command, lang)
    for sub in getattr(command, "commands", {}).values():
        _translate_all(sub, lang)


def _fail(ctx: Any, exc: PrivdomError) -> NoReturn:
    """One `error:` line and its `hint:`, then the error's exit code."""
    typer.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        typer.echo(f"hint: {exc.hint}", err=True)
    ctx.exit(exc.code)
    raise AssertionError("ctx.exit returned")  # it raises Exit


def _is_command_line_exception(exc: Exception) -> bool:
    """Usage errors and exits raised by the command-line framework itself (exit 2, or their own code).

    Typer ships its own copy of click in recent releases, so match on the defining package rather
    than on one package's classes.
    """
    return any(cls.__module__.split(".")[0] in {"typer", "click"} for cls in type(exc).__mro__[:-2])


app = typer.Typer(
    cls=PrivdomGroup,
    help="privdom: plan private-domain community operations (私域运营) from member and order exports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


class LangOpt(str, Enum):
    zh = "zh"
    en = "en"
    both = "both"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"privdom {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="PRIVDOM_DB", help="Workspace database [default: ./privdom.db]."),
    ] = None,
    sops: Annotated[
        Path | None,
        typer.Option("--sops", envvar="PRIVDOM_SOPS", help="Playbook folder [default: ./sops]."),
    ] = None,
    lang: Annotated[
        LangOpt | None,
        # Eager, so that `privdom --lang zh --help` reads it before it prints the help.
        typer.Option(
            "--lang",
            envvar="PRIVDOM_LANG",
            is_eager=True,
            help="Language of labels and help: zh, en or both [default: both].",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    ctx.obj = Workspace(db=db or Path("privdom.db"), sops=sops or Path("sops"), lang=lang.value if lang else None)
    warnings.simplefilter("always", PrivdomWarning)
    warnings.showwarning = _show_warning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """privdom's own warnings as one `warning:` line; anything else as Python prints it."""
    if issubclass(category, PrivdomWarning):
        typer.echo(f"warning: {message}", err=True)
    else:
        _python_showwarning(message, category, *args, **kwargs)


_python_showwarning = warnings.showwarning


for module in (
    workspace_cmd,
    import_cmd,
    sop_cmd,
    calendar_cmd,
    members_cmd,
    plan_cmd,
    schedule_cmd,
    report_cmd,
    review_cmd,
    simulate_cmd,
):
    module.register(app)


def run() -> None:
    app(prog_name="privdom")
