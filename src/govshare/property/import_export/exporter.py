"""Export of assets (CSV, XLSX, GeoJSON), streamed.

:func:`export_rows` gives the owner's staff and regional roles every field; staff of another
member get only assets that publish something, with only the published field groups filled
(the public view of ``queries.public_view``), and no asset id. :func:`export_file` writes
them in one of ``core.tabular.FORMATS`` with the shared writers.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core import tabular
from govshare.core.errors import BadRequest
from govshare.core.tenancy import Action, Principal, authorize, can_see_jurisdiction_rows
from govshare.property.import_export.fileio import EXPORT_COLUMNS, FIELDS, SHEET, export_value
from govshare.property.models import Asset
from govshare.property.schemas import FIELD_GROUPS
from govshare.regions import queries as regions_queries

ASSETS = Asset.__table__


def export_rows(*, session: Session, actor: Principal, jurisdiction_ids: list[int]
                ) -> tuple[list[str], Iterator[list[Any]]]:
    """Export columns and a lazy iterator of rows, jurisdiction by jurisdiction (read in
    chunks of 2,000). Fields another member has not published are empty (see above)."""
    authorize(actor, Action.property_read)
    targets = [regions_queries.get_jurisdiction(session=session, jurisdiction_id=j)
               for j in jurisdiction_ids]
    cols = [ASSETS.c[f] for f in FIELDS]

    def rows() -> Iterator[list[Any]]:
        for target in targets:
            full = can_see_jurisdiction_rows(actor, target.id)
            stmt = (select(*cols).where(ASSETS.c.jurisdiction_id == target.id)
                    .order_by(ASSETS.c.asset_code).execution_options(yield_per=2000))
            for r in session.execute(stmt):
                row = dict(zip(FIELDS, r, strict=True))
                values = row if full else _public_only(row)
                if values is None:
                    continue
                yield [target.name, *[export_value(values[f]) for f in FIELDS]]
    return list(EXPORT_COLUMNS), rows()


def _public_only(values: dict[str, Any]) -> dict[str, Any] | None:
    """The row as another member sees it: published groups only, no asset id; None if the
    asset publishes nothing."""
    groups = values["public_groups"] or []
    if not groups:
        return None
    published = {f for g in groups for f in FIELD_GROUPS.get(g, ())} | {"public_groups"}
    out = {f: (v if f in published else None) for f, v in values.items()}
    out["synthetic_fields"] = [f for f in values["synthetic_fields"] or [] if f in published]
    return out


def export_file(*, session: Session, actor: Principal, jurisdiction_ids: list[int], fmt: str,
                out: IO[bytes]) -> int:
    """Write the export in ``fmt`` to a binary stream; returns the number of assets."""
    if fmt not in tabular.FORMATS:
        raise BadRequest(f"Unknown format {fmt!r}; use one of {', '.join(tabular.FORMATS)}")
    columns, rows = export_rows(session=session, actor=actor, jurisdiction_ids=jurisdiction_ids)
    if fmt == "xlsx":
        return tabular.write_xlsx(columns, rows, out, sheet=SHEET)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        if fmt == "csv":
            return tabular.write_csv(columns, rows, text)
        count = [0]

        def counted() -> Iterator[list[Any]]:
            for r in rows:
                count[0] += 1
                yield r

        for chunk in tabular.geojson_chunks(tabular.rows_as_features(columns, counted())):
            text.write(chunk)
        return count[0]
    finally:
        text.flush()
        text.detach()


