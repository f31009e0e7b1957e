"""The sha256 of an import file, which tells a re-import of the same file apart.

It is taken in a thread while the import reads the header and looks for the cut of a big file
(`split.halves`): both read the file, and since hashlib and file reads let go of the GIL, the two
run side by side on two cores instead of one after the other (a 600 MB orders file: 1.13-1.43 s
one after the other, 0.65-0.77 s side by side).
"""

from __future__ import annotations

import hashlib
import mmap
import threading
from pathlib import Path

# Big reads: the thread needs the GIL back after each read and each update, and meanwhile the
# cut's scan holds it (bytes.count does not let go), so every chunk can wait a switch interval
# (5 ms). At 1 MB the hash of a 600 MB file ended 0.4 s after the scan, no sooner than one after
# the other; at 16 MB it ends with the scan.
_CHUNK = 16 << 20


def file_sha256(path: Path, stop: threading.Event | None = None) -> str:
    """The file's sha256 in hex ('' when `stop` was set before the end)."""
    digest = hashlib.sha256()
    # One buffer, read into again and again, and mapped by itself rather than taken from malloc:
    # glibc serves any block up to the size of the largest one freed from its heap from then on and
    # keeps twice that much unreturned, which added 30 MB to the import's peak memory.
    with mmap.mmap(-1, _CHUNK) as buffer, memoryview(buffer) as view, path.open("rb", buffering=0) as f:
        while size := f.readinto(view):
            if stop is not None and stop.is_set():
                return ""
            digest.update(view[:size])
    return digest.hexdigest()


class Hashing:
    """`file_sha256(path)` in a thread, started at once; `digest()` waits for it."""

    def __init__(self, path: Path) -> None:
        self._stop = threading.Event()
        self._digest = ""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), name="privdom-sha256", daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = file_sha256(path, self._stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the import's thread by digest()
            self._error = exc

    def digest(self) -> str:
        """The hex digest; an error reading the file is raised here, in the import's thread."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest

    def cancel(self) -> None:
        """The import ended early (bad header, already imported...): stop at the next chunk."""
        self._stop.set()
        self._thread.join()
