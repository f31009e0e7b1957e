"""Everything that speaks SQL lives in this package; the rest of privdom calls its functions.

`schema` holds the connection, migrations and transactions. Each later module here holds the
queries of one step of the data flow (imports, metrics, tasks).
"""

from privdom.store.schema import SCHEMA_VERSION, connect, schema_version, transaction

__all__ = ["SCHEMA_VERSION", "connect", "schema_version", "transaction"]
