"""Reading member, order and group exports into the workspace: `privdom import`.

decode -> sniff -> headers -> cells -> rows -> loader; the SQL lives in `privdom.store.imports`.
"""

from typing import TYPE_CHECKING, Any

from privdom.ingest.headers import KINDS, SOURCES
from privdom.ingest.report import ImportReport, Reject

if TYPE_CHECKING:
    from privdom.ingest.loader import import_file

__all__ = ["KINDS", "SOURCES", "ImportReport", "Reject", "import_file"]


def __getattr__(name: str) -> Any:
    # The readers load when an import runs: the command line names the kinds of file at every
    # start, and only `privdom import` reads one.
    if name != "import_file":
        raise AttributeError(f"module 'privdom.ingest' has no attribute {name!r}")
    from privdom.ingest.loader import import_file

    return import_file
