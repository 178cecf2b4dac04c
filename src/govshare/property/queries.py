"""Reads of the property domain.

Visibility: staff of the owning jurisdiction and regional roles see every field of an asset.
Everyone else — other members' staff and the public — sees only the asset's published field
groups, and an asset with none does not exist for them (404).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session

from govshare.core.errors import NotFound
from govshare.core.tenancy import Principal, can_see_jurisdiction_rows, visible_jurisdiction_ids
from govshare.property.calc import (
    AssetFacts,
    Factors,
    FuelFactor,
    GridFactor,
    Parameters,
    TrueCost,
    condition_index,
    true_cost,
    utilization_class,
    utilization_pct,
)
from govshare.property.models import (
    Asset,
    AssetStatus,
    AssetStatusChange,
    CostParameters,
    Proposal,
    ProposalStatusChange,
)
from govshare.property.schemas import FIELD_GROUPS, AssetPublic
from govshare.regions import queries as regions_queries

PUBLIC_WINDOW_STATUSES = (AssetStatus.surplus.value, AssetStatus.vacant.value,
                          AssetStatus.under_used.value)
FUEL_FIELDS = ("electricity_kwh", "natural_gas_therms", "district_steam_kbtu",
               "fuel_oil_gallons", "propane_gallons")


# ------------------------------------------------------------------------------ factors


def _data(name: str) -> Any:
    return resources.files("govshare.property").joinpath(f"data/{name}")


@lru_cache(maxsize=1)
def factors() -> Factors:
    fuels = {}
    with _data("stationary_fuel_factors_hub2025.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            fuels[r["fuel"]] = FuelFactor(
                kg_co2=float(r["kg_co2_per_unit"]), g_ch4=float(r["g_ch4_per_unit"]),
                g_n2o=float(r["g_n2o_per_unit"]),
                source=f"EPA GHG Emission Factors Hub 2025, {r['hub_table']} ({r['hub_row']})")
    grid = {}
    with _data("hub2025_table6_egrid2023.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            grid[r["subregion"]] = GridFactor(
                subregion=r["subregion"], name=r["name"],
                lb_co2_per_mwh=float(r["co2_lb_per_mwh"]),
                lb_ch4_per_mwh=float(r["ch4_lb_per_mwh"]),
                lb_n2o_per_mwh=float(r["n2o_lb_per_mwh"]),
                source="EPA eGRID2023 total output emission rates (GHG Emission Factors Hub "
                       "2025, Table 6)")
    scc: dict[tuple[str, int], dict[str, float]] = {}
    with _data("scghg_annual.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            scc[(r["gas"], int(r["emission.year"]))] = {
                rate: float(r[f"{rate} Ramsey"].replace(",", "")) for rate in
                ("2.5%", "2.0%", "1.5%")}
    return Factors(fuels=fuels, grid=grid, scc=scc,
                   scc_source="EPA social cost of greenhouse gases (Report on the Social Cost "
                              "of Greenhouse Gases, November 2023), 2020 US dollars per tonne")


@lru_cache(maxsize=1)
def zip_subregions() -> dict[str, str]:
    with _data("zip_egrid_subregion_2023.csv").open(encoding="utf-8") as fh:
        return {r["zip"]: r["subregion"] for r in csv.DictReader(fh)}


def parameters(*, session: Session, region_id: int) -> Parameters:
    row = session.scalars(select(CostParameters).where(CostParameters.region_id == region_id)
                          ).first()
    values = dict(row.params) if row else {}
    known = set(Parameters.__dataclass_fields__)
    return Parameters(**{k: v for k, v in values.items() if k in known})


def facts(asset: Asset, params: Parameters) -> AssetFacts:
    sub = zip_subregions().get((asset.zip or "")[:5]) or params.default_grid_subregion
    return AssetFacts(
        status=asset.status, gross_floor_area_ft2=asset.gross_floor_area_ft2,
        capacity=asset.capacity, occupancy=asset.occupancy,
        annual_om_cost_cents=asset.annual_om_cost_cents,
        annual_lease_cost_cents=asset.annual_lease_cost_cents,
        annual_energy_cost_cents=asset.annual_energy_cost_cents,
        repair_needs_cents=asset.repair_needs_cents,
        replacement_value_cents=asset.replacement_value_cents,
        energy={f: getattr(asset, f) for f in FUEL_FIELDS if getattr(asset, f)},
        energy_year=asset.energy_year, grid_subregion=sub,
        synthetic_fields=frozenset(asset.synthetic_fields or []))


def asset_true_cost(asset: Asset, params: Parameters, year: int | None = None) -> TrueCost:
    return true_cost(facts(asset, params), params, factors(), year=year or date.today().year)


# ------------------------------------------------------------------------------ assets


def _staff_scope(stmt: Select[Any], actor: Principal) -> Select[Any]:
    visible = visible_jurisdiction_ids(actor)
    if visible is None:
        return stmt
    # own jurisdiction's assets, plus other members' assets that publish something
    own = Asset.jurisdiction_id.in_(visible) if visible else None
    return stmt.where(own | is_public()) if own is not None else stmt.where(is_public())


def is_public() -> Any:
    """SQL: the asset publishes at least one field group (JSON list is not empty).

    JSON is compared as text because PostgreSQL's json type has no equality operator; the
    JSON type serialises an empty list as '[]' on both dialects.
    """
    return func.coalesce(cast(Asset.public_groups, Text), "[]") != "[]"


@dataclass
class AssetFilter:
    jurisdiction_id: int | None = None
    use: str | None = None
    status: str | None = None
    q: str | None = None


def list_assets(*, session: Session, actor: Principal, region_id: int,
                flt: AssetFilter | None = None, limit: int = 100, offset: int = 0
                ) -> tuple[list[Asset], int]:
    members = [j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                region_id=region_id)]
    stmt = _staff_scope(select(Asset).where(Asset.jurisdiction_id.in_(members)), actor)
    f = flt or AssetFilter()
    if f.jurisdiction_id is not None:
        stmt = stmt.where(Asset.jurisdiction_id == f.jurisdiction_id)
    if f.use:
        stmt = stmt.where(Asset.use == f.use)
    if f.status:
        stmt = stmt.where(Asset.status == f.status)
    if f.q:
        like = f"%{f.q.lower()}%"
        stmt = stmt.where(func.lower(Asset.name).like(like) | func.lower(Asset.address).like(like)
                          | func.lower(Asset.asset_code).like(like))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Asset.jurisdiction_id, Asset.name)
                           .limit(limit).offset(offset)).all()
    return list(rows), int(total)


def get_asset(*, session: Session, actor: Principal, asset_id: int) -> Asset:
    """The full asset, for its owner's staff and regional roles; 404 for anyone else."""
    asset = session.get(Asset, asset_id)
    if asset is None or not can_see_jurisdiction_rows(actor, asset.jurisdiction_id):
        raise NotFound("Asset not found")
    return asset


def may_see_all_fields(actor: Principal, asset: Asset) -> bool:
    return can_see_jurisdiction_rows(actor, asset.jurisdiction_id)


def public_view(asset: Asset, jurisdiction_name: str) -> AssetPublic:
    groups = list(asset.public_groups or [])
    fields: dict[str, Any] = {}
    for g in groups:
        for f in FIELD_GROUPS.get(g, ()):
            fields[f] = getattr(asset, f)
    return AssetPublic(id=asset.id, jurisdiction_id=asset.jurisdiction_id,
                       jurisdiction_name=jurisdiction_name, public_groups=groups, fields=fields)


def get_public_asset(*, session: Session, asset_id: int) -> tuple[Asset, AssetPublic]:
    asset = session.get(Asset, asset_id)
    if asset is None or not asset.public_groups:
        raise NotFound("Asset not found")
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=asset.jurisdiction_id)
    return asset, public_view(asset, j.name)


def status_history(*, session: Session, asset_id: int) -> list[AssetStatusChange]:
    return list(session.scalars(select(AssetStatusChange)
                                .where(AssetStatusChange.asset_id == asset_id)
                                .order_by(AssetStatusChange.at, AssetStatusChange.id)))


def list_proposals(*, session: Session, asset_id: int) -> list[Proposal]:
    return list(session.scalars(select(Proposal).where(Proposal.asset_id == asset_id)
                                .order_by(Proposal.created_at.desc(), Proposal.id.desc())))


def proposal_history(*, session: Session, proposal_id: int) -> list[ProposalStatusChange]:
    return list(session.scalars(select(ProposalStatusChange)
                                .where(ProposalStatusChange.proposal_id == proposal_id)
                                .order_by(ProposalStatusChange.at, ProposalStatusChange.id)))


# ------------------------------------------------------------------------------ rollups


@dataclass
class AssetRow:
    asset: Asset
    jurisdiction: str
    cost: TrueCost
    utilization: float | None
    utilization_class: str
    condition: float | None
    occupied_ft2: float | None

    @property
    def cost_per_occupied_ft2_cents(self) -> float | None:
        if not self.occupied_ft2:
            return None
        return self.cost.total_cents / self.occupied_ft2


def asset_rows(*, session: Session, actor: Principal, region_id: int,
               flt: AssetFilter | None = None, limit: int = 10_000) -> list[AssetRow]:
    """Assets the actor may see in full, with true cost, utilization and condition."""
    params = parameters(session=session, region_id=region_id)
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    assets, _ = list_assets(session=session, actor=actor, region_id=region_id, flt=flt,
                            limit=limit)
    out = []
    for a in assets:
        if not may_see_all_fields(actor, a) or a.status == AssetStatus.disposed.value:
            continue
        util = utilization_pct(a.occupancy, a.capacity)
        occupied = (a.gross_floor_area_ft2 * min(util, 100) / 100
                    if util is not None and a.gross_floor_area_ft2 else None)
        out.append(AssetRow(asset=a, jurisdiction=names.get(a.jurisdiction_id, "?"),
                            cost=asset_true_cost(a, params), utilization=util,
                            utilization_class=utilization_class(util, a.status, params),
                            condition=condition_index(a.repair_needs_cents,
                                                      a.replacement_value_cents),
                            occupied_ft2=occupied))
    return out


def rollup(rows: list[AssetRow], key: str) -> list[dict[str, Any]]:
    """Totals by 'jurisdiction' or 'use': count, ft2, true cost by component, tCO2e."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        k = r.jurisdiction if key == "jurisdiction" else r.asset.use
        g = groups.setdefault(k, {"key": k, "count": 0, "ft2": 0.0, "total_cents": 0,
                                  "tco2e": 0.0, "components": {}, "underused": 0,
                                  "vacant": 0, "incomplete": 0})
        g["count"] += 1
        g["ft2"] += r.asset.gross_floor_area_ft2 or 0
        g["total_cents"] += r.cost.total_cents
        g["tco2e"] += r.cost.emissions.tco2e
        g["underused"] += r.utilization_class == "under-used"
        g["vacant"] += r.utilization_class == "vacant"
        g["incomplete"] += not r.cost.complete
        for c in r.cost.components:
            g["components"][c.key] = g["components"].get(c.key, 0) + c.cents
    return sorted(groups.values(), key=lambda g: -g["total_cents"])


def public_window(*, session: Session, region_id: int, q: str | None = None,
                  use: str | None = None, status: str | None = None,
                  include_in_use: bool = False) -> list[tuple[Asset, AssetPublic]]:
    """Public assets that are surplus, vacant or under-used (optionally in use too)."""
    names = {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                      region_id=region_id)}
    statuses = list(PUBLIC_WINDOW_STATUSES) + ([AssetStatus.in_use.value]
                                               if include_in_use else [])
    stmt = select(Asset).where(Asset.jurisdiction_id.in_(list(names)),
                               Asset.status.in_(statuses), is_public())
    if use:
        stmt = stmt.where(Asset.use == use)
    if status:
        stmt = stmt.where(Asset.status == status)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(Asset.name).like(like) | func.lower(Asset.address).like(like))
    out = []
    for a in session.scalars(stmt.order_by(Asset.name)):
        out.append((a, public_view(a, names[a.jurisdiction_id])))
    return out


# ------------------------------------------------------------------------------ proposals


def proposal_queue(*, session: Session, actor: Principal,
                   statuses: Sequence[str] | None = None, kind: str | None = None,
                   limit: int = 200, offset: int = 0
                   ) -> tuple[list[tuple[Proposal, Asset]], int]:
    """Proposals the actor's jurisdiction must answer (every member's, for regional roles),
    oldest first within each status, so the longest-waiting is at the top."""
    visible = visible_jurisdiction_ids(actor)
    stmt = select(Proposal, Asset).join(Asset, Asset.id == Proposal.asset_id)
    if visible is not None:
        stmt = stmt.where(Proposal.jurisdiction_id.in_(sorted(visible)))
    if statuses:
        stmt = stmt.where(Proposal.status.in_(list(statuses)))
    if kind:
        stmt = stmt.where(Proposal.kind == kind)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Proposal.created_at, Proposal.id)
                           .limit(limit).offset(offset)).all()
    return [(row[0], row[1]) for row in rows], int(total)


def get_proposal(*, session: Session, actor: Principal, proposal_id: int) -> Proposal:
    """The full proposal (contact details included) for the owner's staff and regional
    roles; 404 for anyone else."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or not can_see_jurisdiction_rows(actor, proposal.jurisdiction_id):
        raise NotFound("Proposal not found")
    return proposal


def get_public_proposal(*, session: Session, proposal_id: int) -> Proposal:
    """A proposal whose asset is public (callers show only its public fields); else 404."""
    proposal = session.get(Proposal, proposal_id)
    asset = session.get(Asset, proposal.asset_id) if proposal is not None else None
    if proposal is None or asset is None or not asset.public_groups:
        raise NotFound("Proposal not found")
    return proposal
