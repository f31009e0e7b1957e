"""The one error type a user can cause.

Anything raised as PrivdomError is the user's to fix (exit 1, one `error:` line and a `hint:`).
Everything else that escapes a command is a bug (exit 3, traceback to a log file).
"""

from __future__ import annotations


class PrivdomError(Exception):
    """A mistake in the user's input: a bad file, an invalid playbook, an unknown member."""

    def __init__(self, message: str, hint: str = "", code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return self.message
