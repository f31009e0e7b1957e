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


class PrivdomWarning(UserWarning):
    """Something the operator should know that did not stop the command (a damaged derived file
    that was rebuilt). The command line prints it as one `warning:` line."""


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


def read_only(exc: BaseException) -> bool:
    """SQLite may not write the workspace: the file, its folder (where the -wal and -shm files go)
    or the file system is read-only. The operator's to fix, like a full disk."""
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY


def damaged(exc: BaseException) -> bool:
    """SQLite found the database file damaged (SQLITE_CORRUPT): a disk fault or a copy cut short,
    not privdom's bug and not fixed by running again."""
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_CORRUPT


DAMAGED_HINT = ("restore privdom.db from a backup, or run `privdom init` in a new folder and import the exports "
                "again; `sqlite3 privdom.db .recover` may save what is left")

READ_ONLY_HINT = ("privdom writes to the workspace database and beside it (SQLite's -wal and -shm files): "
                  "make the file and its folder writable, or copy the workspace somewhere writable")

DISK_FULL_HINT = "free some space on the disk (or raise the quota) that holds the workspace, then run it again"


def operator_error(exc: BaseException, where: object) -> PrivdomError | None:
    """The error an exception means when it is the operator's to fix rather than a bug: a full
    disk, a damaged or a read-only workspace (`where`). None for anything else."""
    if disk_full(exc):
        return PrivdomError(f"no space left on the disk; {where} is as it was before this command", DISK_FULL_HINT)
    if damaged(exc):
        return PrivdomError(f"{where} is damaged ({exc}); nothing was written", DAMAGED_HINT)
    if read_only(exc):
        return PrivdomError(f"{where} is read-only here; nothing was written", READ_ONLY_HINT)
    return None



def workspace_busy(exc: BaseException) -> bool:
    """Another process (an import) held the workspace's write lock for longer than the busy
    timeout: the operator's to wait for, never `database is locked` as a bug."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF if isinstance(exc, sqlite3.Error) else 0
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


BUSY_HINT = "run the command again when that one has finished"
