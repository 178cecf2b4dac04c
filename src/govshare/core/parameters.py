"""A region's stored parameters (property's true-cost parameters, fleet's thresholds): the
values that differ from the documented defaults, validated all at once, kept in one row per
region and audited. Each domain keeps its own dataclass of defaults and its own checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core.errors import ValidationFailed
from govshare.core.tenancy import Principal


def changed_from_defaults(params: dict[str, Any], defaults: type,
                          check: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """``params`` validated by ``check`` (every problem at once, named by field), as the
    values that differ from ``defaults()``; an unknown name is refused."""
    names = [f.name for f in fields(defaults)]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValidationFailed("Unknown parameter(s): " + ", ".join(unknown), errors=[
            {"loc": [k], "reason": "unknown parameter", "value": params[k]} for k in unknown])
    try:
        checked = check(params)
    except ValidationError as exc:
        raise ValidationFailed("The parameters are not valid", errors=[
            {"loc": [str(p) for p in e["loc"]], "reason": e["msg"], "value": e.get("input")}
            for e in exc.errors()]) from None
    except ValueError as exc:  # a rule across fields
        raise ValidationFailed(str(exc)) from None
    base = defaults()
    return {k: getattr(checked, k) for k in names if getattr(checked, k) != getattr(base, k)}


def store(session: Session, actor: Principal, model: Any, region_id: int,
          values: dict[str, Any], *, action: str) -> Any:
    """Keep ``values`` as the region's row of ``model`` (made if missing), audited as
    ``action`` with what it replaced."""
    row = session.scalars(select(model).where(model.region_id == region_id)).first()
    before = dict(row.params) if row else {}
    if row is None:
        row = model(region_id=region_id, params={}, updated_by=actor.ref)
        session.add(row)
    row.params = values
    row.updated_by = actor.ref
    session.flush()
    audit.record(session, actor, action=action, entity=model.__tablename__,
                 entity_id=row.id, before=before, after=values)
    return row
