"""What an import did, as data: the CLI renders it, scripts read it as JSON."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Reject(BaseModel):
    record: int = Field(description="Data record number, 1 = the first record after the header.")
    line: int = Field(description="Physical line (or sheet row) the record starts on.")
    reason: str
    raw: str


class Unmapped(BaseModel):
    column: str = Field(description="A source column no field reads (kept in `extra`).")
    closest: str | None = Field(description="The field it most likely holds, in --map's words; null: none alike.")
    map: str | None = Field(description="The --map argument that would read it as that field.")


class ImportReport(BaseModel):
    kind: str
    file: str
    sha256: str
    encoding: str
    delimiter: str | None = None
    sheet: str | None = None
    dry_run: bool = False
    already_imported: bool = Field(
        default=False, description="The same file (sha256) was imported before; nothing written."
    )
    import_id: int | None = None
    read: int = Field(default=0, description="Records after the header, blank ones included.")
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = Field(
        default=0, description="Records folded into another record of the same identity in this file."
    )
    duplicates: int = Field(default=0, description="Exact duplicate records skipped.")
    blank: int = 0
    repeated_headers: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    nulled_by_column: dict[str, int] = Field(default_factory=dict)
    numeric_ids: dict[str, int] = Field(
        default_factory=dict,
        description="XLSX identity columns -> cells that were numbers: leading zeros may be gone.",
    )
    members_created: int = Field(
        default=0, description="Minimal members created for orders of unknown members."
    )
    columns: dict[str, str] = Field(default_factory=dict, description="Source column -> field.")
    extra_columns: list[str] = Field(default_factory=list, description="Source columns kept in `extra`.")
    unmapped: list[Unmapped] = Field(
        default_factory=list, description="Columns no field reads, with the closest field and its --map."
    )
    members_adopted: int = Field(
        default=0, description="Members known by phone or WeCom id that this file gave a member id."
    )
    refunds_updated: int = Field(default=0, description="Stored orders this file refunded (in part or whole).")
    status_updated: int = Field(default=0, description="Stored orders whose status this file changed.")
    seconds: float = 0.0
    rejects: list[Reject] = Field(default_factory=list, exclude=True)
