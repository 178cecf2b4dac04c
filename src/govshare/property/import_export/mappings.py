"""Column mappings saved under a name, for the region's next import of a file from the same
source (issue 9 §6). A mapping is checked before it is saved (``core.tabular.parse_mapping``
and ``mapped`` against the asset layout), so a saved one is always usable as it stands.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core import audit, tabular
from govshare.core.errors import BadRequest, NotFound
from govshare.core.tenancy import Action, Principal, authorize
from govshare.property.import_export.presets import GOVSHARE
from govshare.property.models import ImportMapping

NAME_MAX = 80
MAX_SAVED = 200  # per region


def _name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise BadRequest("Name the mapping (for example, Chicago benchmarking)")
    if len(cleaned) > NAME_MAX:
        raise BadRequest(f"A mapping's name has at most {NAME_MAX} characters")
    return cleaned


def list_mappings(*, session: Session, actor: Principal, region_id: int
                  ) -> list[ImportMapping]:
    authorize(actor, Action.property_manage, region_id=region_id)
    return list(session.scalars(select(ImportMapping).where(
        ImportMapping.region_id == region_id).order_by(ImportMapping.name)))


def get_mapping(*, session: Session, actor: Principal, region_id: int, name: str
                ) -> ImportMapping:
    authorize(actor, Action.property_manage, region_id=region_id)
    row = session.scalars(select(ImportMapping).where(
        ImportMapping.region_id == region_id, ImportMapping.name == _name(name))).first()
    if row is None:
        raise NotFound(f"No saved column mapping is named {_name(name)!r}")
    return row


def save_mapping(*, session: Session, actor: Principal, region_id: int, name: str,
                 pairs: list[str]) -> ImportMapping:
    """Save (or replace) the region's mapping of that name; refused, naming the pair, when a
    pair is not usable."""
    authorize(actor, Action.property_manage, region_id=region_id)
    label = _name(name)
    lines = [p.strip() for p in pairs if p.strip()]
    if not lines:
        raise BadRequest("There is no column mapping to save: give FILE_COLUMN=FIELD pairs")
    try:
        tabular.mapped(GOVSHARE, tabular.parse_mapping(lines))
    except tabular.MappingError as exc:
        raise BadRequest(f"Column mapping: {exc}") from None
    row = session.scalars(select(ImportMapping).where(
        ImportMapping.region_id == region_id, ImportMapping.name == label)).first()
    before = None
    if row is None:
        count = len(list_mappings(session=session, actor=actor, region_id=region_id))
        if count >= MAX_SAVED:
            raise BadRequest(f"The region has {count} saved mappings, the most it keeps; "
                             "delete one first")
        row = ImportMapping(region_id=region_id, name=label, pairs=lines, updated_by=actor.ref)
        session.add(row)
    else:
        before = {"pairs": list(row.pairs)}
        row.pairs, row.updated_by = lines, actor.ref
    session.flush()
    audit.record(session, actor, action="asset.import_mapping.save", entity="import_mapping",
                 entity_id=row.id, before=before, after={"name": label, "pairs": lines})
    return row


def delete_mapping(*, session: Session, actor: Principal, region_id: int, name: str) -> None:
    row = get_mapping(session=session, actor=actor, region_id=region_id, name=name)
    audit.record(session, actor, action="asset.import_mapping.delete", entity="import_mapping",
                 entity_id=row.id, before={"name": row.name, "pairs": list(row.pairs)})
    session.delete(row)
    session.flush()
