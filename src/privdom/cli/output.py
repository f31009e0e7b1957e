"""Output written after the workspace has changed: a failure to write it must not read as if
nothing was saved."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from privdom.errors import PrivdomError


@contextmanager
def after_commit(saved: str, hint: str) -> Iterator[None]:
    """Write the output inside this block, after `saved` (e.g. "252 tasks saved") was committed.

    stdout is flushed here, so a full disk or a closed file is met inside the block, not at exit.
    Such a failure is an error that says what was saved; a reader that closed the pipe early
    (`| head`) is not a failure and goes on to the error boundary as before.
    """
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise PrivdomError(f"{saved}; output failed: {exc.strerror or exc}", hint=hint) from None
