from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from month_brand import Workspace as MonthWorkspace
from month_brand import build_month
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
