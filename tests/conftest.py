from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from month_brand import Workspace as MonthWorkspace
from month_brand import build_month
from privdom import Workspace
from privdom.cli.main import app


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run privdom in a fresh workspace folder (tmp_path is the current directory)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRIVDOM_DB", raising=False)
    monkeypatch.delenv("PRIVDOM_SOPS", raising=False)
    monkeypatch.delenv("PRIVDOM_LANG", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("PRIVDOM_LOG_DIR", str(tmp_path / "logs"))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        res = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return Result(res.exit_code, res.stdout, res.stderr)

    return invoke


@pytest.fixture
def workspace(cli: Callable[..., Result], tmp_path: Path) -> Path:
    res = cli("init")
    assert res.exit_code == 0, res.stderr
    return tmp_path


@pytest.fixture(scope="session")
def month(tmp_path_factory: pytest.TempPathFactory) -> MonthWorkspace:
    """The example brand after a month of saved, done and skipped mornings (tests/month_brand.py)."""
    return build_month(tmp_path_factory.mktemp("month"))


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example brand's workspace, built once through the library (as `privdom demo` does)."""
    from privdom.workspace import EXAMPLE_FILES, example_sops_dir, examples_dir, init_workspace

    folder = tmp_path_factory.mktemp("demo") / "teatalk"
    init_workspace(folder / "privdom.db", folder / "sops", source=example_sops_dir())
    ws = Workspace(folder)
    for kind, name in EXAMPLE_FILES:
        ws.import_file(kind, examples_dir() / name)
    return folder


@pytest.fixture
def teatalk(demo_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example workspace in `tmp_path/teatalk`, the current folder being `tmp_path`."""
    folder = tmp_path / "teatalk"
    shutil.copytree(demo_source, folder)
    monkeypatch.chdir(tmp_path)
    for name in ("PRIVDOM_DB", "PRIVDOM_SOPS", "PRIVDOM_LANG", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PRIVDOM_LOG_DIR", str(tmp_path / "logs"))
    yield folder
