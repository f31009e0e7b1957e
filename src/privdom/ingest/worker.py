"""Read the second half of a big export in a second process while this one reads the first.

On the insert-only path a record costs about as much to read and check (decoding, csv, the cell
parsers) as it costs to store. On a machine with two cores, two processes can each do all of that
for one half of the file. The cut comes from `ingest.split`. The second process runs the same
`records.value_batches` on its half and appends the rows to a scratch database (`store.scratch`),
which the import then copies in after its own rows, so the table holds the records in file order.
Nothing crosses between the processes while they read but a byte count for the progress bar; the
counts, rejects and NULLed cells of the second half come back at the end, in one message.

The worker is started with "spawn", not "fork": it inherits no open database, no progress-bar
thread and no locks, and it behaves the same on every platform.
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from privdom.errors import PrivdomError
from privdom.ingest.headers import map_header
from privdom.ingest.reader import Part, open_source
from privdom.ingest.records import value_batches
from privdom.ingest.report import ImportReport, Reject
from privdom.ingest.rows import RowParser
from privdom.store import bulk_insert as bulk
from privdom.store import scratch

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


@dataclass(frozen=True)
class Target:
    """Which part the worker reads, and where its rows go."""

    part: Part
    scratch: Path  # the scratch database file (store.scratch)
    workspace: Path  # the workspace database, read-only, to find the orders' members in
    create_table: str


@dataclass
class Half:
    """What the second half added up to: the counts of `records`, its rejects (numbered within
    the half; lines are the file's), the NULLed cells and the rows in the scratch table."""

    read: int
    blank: int
    repeated_headers: int
    rejects: list[Reject]
    nulled: dict[str, int]
    rows: int


class SecondHalf:
    """The worker reading `target.part`; `result` waits for it. Leaving the `with` block stops a
    worker that is still running (the first half failed, or Ctrl-C)."""

    def __init__(self, job: Job, target: Target) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._receive, send = ctx.Pipe(duplex=False)
        self._read = ctx.RawValue("q", 0)  # bytes of its half read so far, for the progress bar
        self._worker = ctx.Process(
            target=_work, args=(send, job, target, self._read, os.getpid()), name="privdom-import-reader", daemon=True
        )
        self._worker.start()
        send.close()  # the worker holds the only writing end: its exit ends the pipe

    def __enter__(self) -> SecondHalf:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._receive.close()
        if self._worker.is_alive():
            self._worker.terminate()
        self._worker.join()

    def bytes_read(self) -> int:
        return int(self._read.value)

    def result(self, waiting: Callable[[], None] | None = None) -> Half:
        """Wait for the worker's end, calling `waiting` now and then; a whole-file problem the
        worker met is raised as the same PrivdomError."""
        while not self._receive.poll(0.1):
            if waiting is not None:
                waiting()
        try:
            message = marshal.loads(self._receive.recv_bytes())
        except EOFError:
            self._worker.join()
            code = self._worker.exitcode
            raise RuntimeError(f"the import's second reading process stopped (exit code {code})") from None
        what = message[0]
        if what == "error":
            raise PrivdomError(message[1], hint=message[2])
        if what == "crash":
            raise RuntimeError(f"the import's second reading process failed:\n{message[1]}")
        _, (read, blank, repeated), rejects, nulled, rows = message
        plain = [Reject(record=record, line=line, reason=reason, raw=raw) for record, line, reason, raw in rejects]
        return Half(read, blank, repeated, plain, nulled, rows)


def _work(pipe: Connection, job: Job, target: Target, read: Any, parent: int) -> None:
    """The worker's whole life: read its half into the scratch file, then report."""
    # Ctrl-C reaches the whole process group: the import rolls back and stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # for the rest of this short-lived process: see privdom.cycles
    try:

        def note(done: int, _total: int) -> None:
            read.value = done

        src = open_source(job.path, encoding=job.encoding, progress=note, part=target.part)
        try:
            hmap = map_header(job.kind, src.header, source=job.source, mappings=job.mappings, file=str(job.path))
            parser = RowParser(job.kind, src.header, hmap, ZoneInfo(job.timezone))
            tally = ImportReport(kind=job.kind, file=str(job.path), sha256="", encoding=src.encoding)
            db = scratch.open_for_writing(target.scratch, job.kind, target.create_table, target.workspace)
            rows = 0
            for batch, phones in value_batches(src, parser, tally):
                if os.getppid() != parent:  # the import was killed: nobody will copy these rows
                    db.close()
                    target.scratch.unlink(missing_ok=True)
                    return
                if job.kind == "orders":
                    bulk.find_order_members(db, batch, phones)
                bulk.append_rows(db, job.kind, batch)
                rows += len(batch)
            scratch.close_after_writing(db)
        finally:
            src.close()
        counts = (tally.read, tally.blank, tally.repeated_headers)
        rejects = [(r.record, r.line, r.reason, r.raw) for r in tally.rejects]
        _send(pipe, ("end", counts, rejects, parser.nulled, rows))
    except PrivdomError as exc:
        _send(pipe, ("error", exc.message, exc.hint))
    except BaseException:  # noqa: BLE001 - everything else is reported to the import, with its traceback
        _send(pipe, ("crash", traceback.format_exc()))
    finally:
        pipe.close()


def _send(pipe: Connection, message: tuple[Any, ...]) -> None:
    try:
        pipe.send_bytes(marshal.dumps(message))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import is gone (it failed, or was stopped): nothing is waiting for this
