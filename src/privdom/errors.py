"""The one error type a user can cause.

Anything raised as PrivdomError is the user's to fix (exit 1, one `error:` line and a `hint:`).
Everything else that escapes a command is a bug (exit 3, traceback to a log file).
"""

from __future__ import annotations

import errno
import sqlite3


class PrivdomError(Exception):
    """A mistake in the user's input: a bad file, an invalid playbook, an unknown member."""

    def __init__(self, message: str, hint: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return self.message


def disk_full(exc: BaseException) -> bool:
    """The disk (or a quota) is full: SQLite's SQLITE_FULL, or the OS's ENOSPC.

    Not a bug and not the input's fault, but the operator's to fix: it is reported like a
    PrivdomError, and the transaction that met it was rolled back, so nothing was written.
    """
    if isinstance(exc, sqlite3.Error):
        # The extended code (Python 3.11+ sets it on every error SQLite raises); its low byte is the
        # primary code.
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


DISK_FULL_HINT = "free some space on the disk (or raise the quota) that holds the workspace, then run it again"


def workspace_busy(exc: BaseException) -> bool:
    """Another process held the workspace's write lock for longer than the busy timeout."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF if isinstance(exc, sqlite3.Error) else 0
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def read_only(exc: BaseException) -> bool:
    """The workspace's file (or its directory, where the WAL lives) cannot be written."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)
    return False
