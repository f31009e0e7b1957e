"""Read the second half of a big export in a second process while this one reads the first.

On the insert-only path a record costs about as much to read and check (decoding, csv, the cell
parsers) as it costs to store. On a machine with two cores, two processes can each do all of that
for one half of the file. The cut comes from `ingest.split`. The second process runs the same
`records.value_batches` on its half and appends the rows to a scratch database (`store.scratch`),
which the import then copies in after its own rows, so the table holds the records in file order.
Nothing crosses between the processes while they read but byte counts for the progress bar; the
counts, rejects and NULLed cells of the second half come back at the end, in one message.

The worker is a fresh interpreter (`python -c`) that imports privdom only. It inherits no open
database, no progress-bar thread and no locks, and, unlike multiprocessing's "spawn", it never runs
the top level of the program that called `import_file` again.
"""

from __future__ import annotations

import functools
import gc
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import privdom
from privdom.errors import DISK_FULL_HINT, PrivdomError, disk_full
from privdom.ingest.headers import map_header
from privdom.ingest.reader import Part, open_source
from privdom.ingest.records import Batch, value_batches
from privdom.ingest.report import ImportReport
from privdom.ingest.rows import RowParser
from privdom.store import bulk_insert as bulk
from privdom.store import identity, scratch

# Files smaller than this are read in one process: starting a worker costs a few tenths of a second,
# about what 50,000 records cost to read.
WORKER_MIN_BYTES = 16 << 20


def worth_a_worker(path: Path) -> bool:
    """A second process pays off for a big CSV on a machine with a second core."""
    return (os.cpu_count() or 1) > 1 and path.stat().st_size >= WORKER_MIN_BYTES


@dataclass(frozen=True)
class Job:
    """What a worker needs to read a file exactly as `import_file` would (all picklable)."""

    kind: str
    path: Path
    encoding: str  # the encoding the import found: the worker does not look again
    source: str
    mappings: dict[str, str] | None
    timezone: str
    phone_key: bytes  # the workspace's key for the member ids of phones (store.identity)
    allow_missing: tuple[str, ...] = ()
    encoding_errors: str = "strict"


@dataclass(frozen=True)
class Target:
    """Which part the worker reads, and where its rows go."""

    part: Part
    scratch: Path  # the scratch database file (store.scratch)
    workspace: Path  # the workspace database, read-only, to find the orders' members in
    create_table: str


@dataclass
class Half:
    """What the second half's reading counted (`records`: read, blank, repeated headers, rejects
    numbered within the half on the file's lines) and the cells it NULLed, by column."""

    report: ImportReport
    nulled: dict[str, int]


class SecondHalf:
    """The worker reading `target.part`; `result` waits for it. Leaving the `with` block stops a
    worker that is still running (the first half failed, or Ctrl-C)."""

    def __init__(self, job: Job, target: Target) -> None:
        self._read = 0  # bytes of its half read so far, for the progress bar
        self._end: tuple[Any, ...] | None = None
        self._ended = threading.Event()
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        # A fresh interpreter that imports privdom, and nothing of the program that called
        # import_file (multiprocessing's "spawn" would run that program's top level again). Its own
        # session: Ctrl-C at the terminal goes to the import, which stops the worker itself.
        root = str(Path(privdom.__file__).resolve().parent.parent)
        bootstrap = f"import sys; sys.path.insert(0, {root!r}); from {__name__} import serve; serve()"
        self._worker = subprocess.Popen(
            [sys.executable, "-c", bootstrap],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            start_new_session=True,
        )
        assert self._worker.stdin is not None and self._worker.stdout is not None
        self._listener = threading.Thread(target=self._listen, args=(self._worker.stdout,), daemon=True)
        self._listener.start()
        try:
            self._worker.stdin.write(pickle.dumps((job, target, os.getpid())))
            self._worker.stdin.close()
        except BrokenPipeError:
            pass  # it died starting up: `result` reports its exit and what it said

    def __enter__(self) -> SecondHalf:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._worker.poll() is None:
            self._worker.kill()
        self._worker.wait()
        self._listener.join()
        if self._worker.stdout is not None:
            self._worker.stdout.close()
        self._errors.close()

    def _listen(self, stream: IO[bytes]) -> None:
        """Messages from the worker: byte counts as it reads, then its end."""
        try:
            while len(head := stream.read(4)) == 4:
                message = pickle.loads(stream.read(int.from_bytes(head, "big")))  # noqa: S301 - our own worker
                if message[0] == "read":
                    self._read = message[1]
                else:
                    self._end = message
                    break
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            pass  # the worker was stopped mid-message: `result` reports its exit
        finally:
            self._ended.set()

    def bytes_read(self) -> int:
        return self._read

    def result(self, waiting: Callable[[], None] | None = None) -> Half:
        """Wait for the worker's end, calling `waiting` now and then; a whole-file problem the
        worker met is raised as the same PrivdomError."""
        while not self._ended.wait(0.1):
            if waiting is not None:
                waiting()
        message = self._end
        if message is None:
            code = self._worker.wait()
            self._errors.seek(0)
            said = self._errors.read().decode("utf-8", "replace").strip()
            raise RuntimeError(f"the import's second reading process stopped (exit code {code})\n{said}")
        what = message[0]
        if what == "error":
            raise PrivdomError(message[1], hint=message[2])
        if what == "crash":
            raise RuntimeError(f"the import's second reading process failed:\n{message[1]}")
        _, report, nulled = message
        return Half(report, nulled)


def serve() -> None:
    """The worker process: its job comes on stdin, its messages go out on stdout."""
    gc.disable()  # for the rest of this short-lived process: see privdom.cycles
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not break the messages
    job, target, parent = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from the import itself
    try:
        _work(channel, job, target, parent)
    finally:
        channel.close()


class _Orphaned(Exception):
    """The import that started this worker is gone: nobody will copy its rows."""


def _work(channel: IO[bytes], job: Job, target: Target, parent: int) -> None:
    """The worker's whole life: read its half into the scratch file, then report."""
    read = [0]

    def note(done: int, _total: int) -> None:
        read[0] = done

    def reported(batches: Iterator[Batch]) -> Iterator[Batch]:
        for batch in batches:
            if os.getppid() != parent:  # the import was killed
                raise _Orphaned
            yield batch
            _send(channel, ("read", read[0]))

    try:
        src = open_source(job.path, encoding=job.encoding, progress=note, part=target.part,
                          errors=job.encoding_errors)
        try:
            hmap = map_header(job.kind, src.header, source=job.source, mappings=job.mappings,
                              allow_missing=job.allow_missing, file=str(job.path))
            phone_id = functools.partial(identity.phone_member_id, job.phone_key)
            # The worker reads only into an empty table: a blank identity matches nobody.
            parser = RowParser(job.kind, src.header, hmap, ZoneInfo(job.timezone), phone_id=phone_id,
                               match_blank=False)
            tally = ImportReport(kind=job.kind, file=str(job.path), sha256="", encoding=src.encoding)
            db = scratch.open_for_writing(target.scratch, job.kind, target.create_table, target.workspace)
            try:
                bulk.append_batches(db, job.kind, reported(value_batches(src, parser, tally)))
            except _Orphaned:
                db.close()
                target.scratch.unlink(missing_ok=True)
                return
            scratch.close_after_writing(db)
        finally:
            src.close()
        _send(channel, ("read", read[0]))
        _send(channel, ("end", tally, parser.nulled))
    except PrivdomError as exc:
        _send(channel, ("error", exc.message, exc.hint))
    except BaseException as exc:  # noqa: BLE001 - reported to the import: a full disk as the operator's
        if disk_full(exc):  # to fix, anything else with its traceback
            beside = target.workspace
            _send(channel, ("error", f"no space left on the disk for the import's scratch file beside {beside}; "
                                     "nothing was written", DISK_FULL_HINT))
        else:
            _send(channel, ("crash", traceback.format_exc()))


def _send(channel: IO[bytes], message: tuple[Any, ...]) -> None:
    data = pickle.dumps(message)
    try:
        channel.write(len(data).to_bytes(4, "big") + data)
        channel.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import is gone (it failed, or was stopped): nothing is waiting for this
