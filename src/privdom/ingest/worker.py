"""Read and parse a big export in a second process while this one writes the database.

On the insert-only path a record costs about as much to read and check (decoding, csv, the cell
parsers) as it costs SQLite to store; on a machine with two cores both halves can run at once. The
worker opens the file itself, runs the same `records.value_batches` the single-process path runs, and
sends each batch through a pipe. A pipe holds little, so the worker is never more than a batch or two
ahead of the writer, and memory stays flat whatever the file's size.

The worker is started with "spawn", not "fork": it inherits no open database, no progress-bar
thread and no locks, and it behaves the same on every platform. Messages are `marshal`ed: both ends
are the same interpreter, and for lists of plain values it is several times cheaper than pickle.
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from privdom.errors import PrivdomError
from privdom.ingest.headers import map_header
from privdom.ingest.reader import Progress, open_source
from privdom.ingest.records import Batch, value_batches
from privdom.ingest.report import ImportReport, Reject
from privdom.ingest.rows import RowParser

# Files smaller than this are parsed in-process: starting a worker costs a few tenths of a second,
# about what 50,000 records cost to parse.
WORKER_MIN_BYTES = 16 << 20


def worth_a_worker(path: Path) -> bool:
    """A second process pays off for a big CSV on a machine with a second core."""
    return (os.cpu_count() or 1) > 1 and path.stat().st_size >= WORKER_MIN_BYTES


@dataclass(frozen=True)
class Job:
    """What the worker needs to read the file exactly as `import_file` would (all picklable)."""

    kind: str
    path: Path
    encoding: str
    source: str
    mappings: dict[str, str] | None
    timezone: str


def parsed_in_worker(
    job: Job, report: ImportReport, parser: RowParser, progress: Progress | None
) -> Iterator[Batch]:
    """The batches `value_batches` would give here, parsed in a second process.

    Counts, rejects and NULLed cells found by the worker are added to `report` and `parser.nulled`
    as they arrive. A whole-file problem the worker meets is raised here as the same PrivdomError.
    """
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_work, args=(send, job), name="privdom-import-reader", daemon=True)
    worker.start()
    send.close()  # the worker holds the only writing end: its exit ends the pipe
    total = job.path.stat().st_size
    try:
        while True:
            try:
                message = marshal.loads(receive.recv_bytes())
            except EOFError:
                worker.join()
                raise RuntimeError(f"the import's reading process stopped (exit code {worker.exitcode})") from None
            what = message[0]
            if what == "batch":
                _, rows, phones, rejects, done = message
                report.rejects += _rejects(rejects)
                if progress is not None:
                    progress(done, total)
                yield rows, phones
            elif what == "end":
                _, counts, rejects, nulled = message
                report.rejects += _rejects(rejects)
                report.blank, report.repeated_headers, report.read = counts
                for column, count in nulled.items():
                    parser.nulled[column] = parser.nulled.get(column, 0) + count
                return
            elif what == "error":
                raise PrivdomError(message[1], hint=message[2])
            else:
                raise RuntimeError(f"the import's reading process failed:\n{message[1]}")
    finally:
        receive.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _work(pipe: Connection, job: Job) -> None:
    """The worker's whole life: read, parse, send; then the counts."""
    # Ctrl-C reaches the whole process group: the writer rolls back and stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # for the rest of this short-lived process: see privdom.cycles
    try:
        read = [0]  # bytes read so far, for the writer's progress bar

        def note(done: int, _total: int) -> None:
            read[0] = done

        src = open_source(job.path, encoding=job.encoding, progress=note)
        try:
            hmap = map_header(job.kind, src.header, source=job.source, mappings=job.mappings, file=str(job.path))
            parser = RowParser(job.kind, src.header, hmap, ZoneInfo(job.timezone))
            tally = ImportReport(kind=job.kind, file=str(job.path), sha256="", encoding=src.encoding)
            for rows, phones in value_batches(src, parser, tally):
                pipe.send_bytes(marshal.dumps(("batch", rows, phones, _plain(tally.rejects), read[0])))
                tally.rejects = []
            counts = (tally.blank, tally.repeated_headers, tally.read)
            pipe.send_bytes(marshal.dumps(("end", counts, _plain(tally.rejects), parser.nulled)))
        finally:
            src.close()
    except PrivdomError as exc:
        _send_quietly(pipe, ("error", exc.message, exc.hint))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the writer is gone (it failed, or was stopped): nothing is waiting for the rest
    except BaseException:  # noqa: BLE001 - everything else is reported to the writer, with its traceback
        _send_quietly(pipe, ("crash", traceback.format_exc()))
    finally:
        pipe.close()


def _plain(rejects: list[Reject]) -> list[tuple[int, int, str, str]]:
    return [(r.record, r.line, r.reason, r.raw) for r in rejects]


def _rejects(plain: list[tuple[int, int, str, str]]) -> list[Reject]:
    return [Reject(record=record, line=line, reason=reason, raw=raw) for record, line, reason, raw in plain]


def _send_quietly(pipe: Connection, message: tuple[Any, ...]) -> None:
    try:
        pipe.send_bytes(marshal.dumps(message))
    except (BrokenPipeError, ConnectionResetError):
        pass
