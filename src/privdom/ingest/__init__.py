"""Reading member, order and group exports into the workspace: `privdom import`.

decode -> sniff -> headers -> cells -> rows -> loader; the SQL lives in `privdom.store.imports`.
"""

from privdom.ingest.headers import KINDS, SOURCES
from privdom.ingest.loader import import_file
from privdom.ingest.report import ImportReport, Reject

__all__ = ["KINDS", "SOURCES", "ImportReport", "Reject", "import_file"]
