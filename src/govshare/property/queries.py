"""Reads of the property domain.

Visibility: staff of the owning jurisdiction and regional roles see every field of an asset.
Everyone else — other members' staff and the public — sees only the asset's published field
groups, and an asset with none does not exist for them (404).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, defer

from govshare.carbon import service as carbon_service
from govshare.core import images
from govshare.core.bounds import model_bounds
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams, fetch_page
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
    usable_parameters,
    utilization_class,
    utilization_pct,
)
from govshare.property.models import (
    Asset,
    AssetPhoto,
    AssetStatus,
    AssetStatusChange,
    CostParameters,
    Proposal,
    ProposalStatusChange,
)
from govshare.property.schemas import (
    FIELD_GROUPS,
    USE_LABELS,
    AssetFields,
    AssetPublic,
    PhotoPublic,
    stored_values,
)
from govshare.regions import queries as regions_queries

log = logging.getLogger("govshare.property")

PUBLIC_WINDOW_STATUSES = (AssetStatus.surplus.value, AssetStatus.vacant.value,
                          AssetStatus.under_used.value)
FUEL_FIELDS = ("electricity_kwh", "natural_gas_therms", "district_steam_kbtu",
               "fuel_oil_gallons", "propane_gallons")


# ------------------------------------------------------------------------------ factors


def _data(name: str) -> Any:
    return resources.files("govshare.property").joinpath(f"data/{name}")


@lru_cache(maxsize=1)
def factors() -> Factors:
    """Emission factors from carbon (the default set, EPA Hub 2025 with eGRID2023) and the
    social cost of greenhouse gases (property's own: a price, not a factor)."""
    fuels = {a: FuelFactor(kg_co2=f.kg.get("CO2", 0.0), g_ch4=f.kg.get("CH4", 0.0) * 1000,
                           g_n2o=f.kg.get("N2O", 0.0) * 1000, source=f.source)
             for a, f in carbon_service.packaged_factors().items()}
    grid = {sub: GridFactor(subregion=sub, name=g["name"],
                            lb_co2_per_mwh=g["lb_per_mwh"].get("CO2", 0.0),
                            lb_ch4_per_mwh=g["lb_per_mwh"].get("CH4", 0.0),
                            lb_n2o_per_mwh=g["lb_per_mwh"].get("N2O", 0.0),
                            source="EPA eGRID2023 total output emission rates (GHG Emission "
                                   "Factors Hub 2025, Table 6)")
            for sub, g in carbon_service.packaged_grid().items()}
    scc: dict[tuple[str, int], dict[str, float]] = {}
    with _data("scghg_annual.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            scc[(r["gas"], int(r["emission.year"]))] = {
                rate: float(r[f"{rate} Ramsey"].replace(",", "")) for rate in
                ("2.5%", "2.0%", "1.5%")}
    return Factors(fuels=fuels, grid=grid, scc=scc,
                   scc_source="EPA social cost of greenhouse gases (Report on the Social Cost "
                              "of Greenhouse Gases, November 2023), 2020 US dollars per tonne")


def zip_subregions() -> dict[str, str]:
    return carbon_service.zip_subregions()


def parameters(*, session: Session, region_id: int) -> Parameters:
    """The region's parameters. A stored value outside its range (saved before the range
    existed) gives way to its default, with a warning in the log: pages keep working."""
    row = session.scalars(select(CostParameters).where(CostParameters.region_id == region_id)
                          ).first()
    params, ignored = usable_parameters(dict(row.params) if row else {})
    if ignored:
        log.warning("stored property parameters not valid; their defaults are used",
                    extra={"region_id": region_id, "parameters": ignored})
    return params


def facts(asset: Asset, params: Parameters) -> AssetFacts:
    """What true cost needs of an asset. A stored value outside its field's range is left out
    (None) and named in ``out_of_range``, so the computation never meets it."""
    v, bad = stored_values(asset)
    sub = zip_subregions().get((v["zip"] or "")[:5]) or params.default_grid_subregion
    return AssetFacts(
        status=asset.status, gross_floor_area_ft2=v["gross_floor_area_ft2"],
        capacity=v["capacity"], occupancy=v["occupancy"],
        annual_om_cost_cents=v["annual_om_cost_cents"],
        annual_lease_cost_cents=v["annual_lease_cost_cents"],
        annual_energy_cost_cents=v["annual_energy_cost_cents"],
        repair_needs_cents=v["repair_needs_cents"],
        replacement_value_cents=v["replacement_value_cents"],
        energy={f: v[f] for f in FUEL_FIELDS if v[f]},
        energy_year=v["energy_year"], grid_subregion=sub,
        synthetic_fields=frozenset(asset.synthetic_fields or []), out_of_range=frozenset(bad))


def asset_true_cost(asset: Asset, params: Parameters, year: int | None = None) -> TrueCost:
    return true_cost(facts(asset, params), params, factors(), year=year or date.today().year)


# ------------------------------------------------------------------------------ assets


def sees_in_full(actor: Principal) -> ColumnElement[bool]:
    """SQL: the actor sees the asset in full (its owner's staff, regional roles)."""
    visible = visible_jurisdiction_ids(actor)
    return true() if visible is None else Asset.jurisdiction_id.in_(sorted(visible))


def is_public() -> ColumnElement[bool]:
    """SQL: the asset publishes at least one field group (JSON list is not empty).

    JSON is compared as text because PostgreSQL's json type has no equality operator; the
    JSON type serializes an empty list as '[]' on both dialects.
    """
    return func.coalesce(cast(Asset.public_groups, Text), "[]") != "[]"


def publishes(group: str) -> ColumnElement[bool]:
    """SQL: the asset publishes field group ``group`` (a quoted name in its JSON list)."""
    return cast(Asset.public_groups, Text).like(f'%"{group}"%')


def _word_matches(word: str, full: ColumnElement[bool], members: dict[int, str]
                  ) -> ColumnElement[bool]:
    """SQL: a search word appears in the asset's published text — name, property type, use,
    owner, and its address only if the location is published — or, for an asset the actor
    sees in full, also in its asset id and address. Never in a field the actor may not see:
    a search must not be a way to probe one."""
    w = word.lower()

    def has(column: Any) -> ColumnElement[bool]:
        return func.lower(column).contains(w, autoescape=True)

    located = or_(has(Asset.address), has(Asset.city), has(Asset.zip))
    published = or_(has(Asset.name), has(Asset.pm_property_type),
                    Asset.use.in_([u for u, label in USE_LABELS.items() if w in label.lower()]),
                    Asset.jurisdiction_id.in_([j for j, n in members.items() if w in n.lower()]),
                    and_(publishes("location"), located))
    return or_(published, and_(full, or_(has(Asset.asset_code), located)))


@dataclass
class AssetFilter:
    jurisdiction_id: int | None = None
    use: str | None = None
    status: str | None = None
    q: str | None = None  # every word must match (see _word_matches)


def _assets(actor: Principal, members: dict[int, str], flt: AssetFilter | None, *,
            full_only: bool) -> Select[Asset]:
    """The assets of the region's members the actor may list — its own and, unless
    ``full_only``, other members' public ones — filtered on what the actor may see of each,
    in a total order."""
    full = sees_in_full(actor)
    stmt = select(Asset).where(Asset.jurisdiction_id.in_(list(members)),
                               full if full_only else or_(full, is_public()))
    f = flt or AssetFilter()
    if f.jurisdiction_id is not None:
        stmt = stmt.where(Asset.jurisdiction_id == f.jurisdiction_id)
    if f.use:
        stmt = stmt.where(Asset.use == f.use)  # identity is published with any group
    if f.status:
        stmt = stmt.where(Asset.status == f.status, or_(full, publishes("status")))
    for word in (f.q or "").split():
        stmt = stmt.where(_word_matches(word, full, members))
    return stmt.order_by(Asset.jurisdiction_id, Asset.name, Asset.id)


def _members(session: Session, region_id: int) -> dict[int, str]:
    return {j.id: j.name for j in regions_queries.list_jurisdictions(session=session,
                                                                     region_id=region_id)}


@dataclass(frozen=True)
class Shown:
    """One asset in a list of several members' assets, as the actor may see it: every field
    for its owner's staff and regional roles (``full``), only the published field groups for
    anyone else. Lists hand templates this, never the row, so an unpublished field cannot be
    shown by mistake."""

    id: int
    jurisdiction_id: int
    full: bool
    fields: dict[str, Any]


# Orders the registry's list may take: on identity fields only, which every published asset
# shows, so that the order reveals nothing another member did not publish. (Sorting by true
# cost is done by the page over the rows the actor sees in full.)
LIST_ORDERS = {"member": (), "name": ("name",), "use": ("use", "name")}


def list_assets(*, session: Session, actor: Principal, region_id: int,
                flt: AssetFilter | None = None, page: PageParams = PageParams(100),
                order: str = "member", ids: list[int] | None = None
                ) -> tuple[list[Shown], int]:
    """The registry's list: the actor's own assets in full, other members' public assets
    with their published fields only (and matched on those only). ``order``: a key of
    :data:`LIST_ORDERS`; ``ids``: only these assets, in this order (one page of a sort the
    caller made), with the total of the whole filter."""
    members = _members(session, region_id)
    stmt = _assets(actor, members, flt, full_only=False)
    if order not in LIST_ORDERS:
        raise ValueError(f"unknown order {order!r}")
    if LIST_ORDERS[order]:
        stmt = stmt.order_by(None).order_by(
            *(getattr(Asset, c) for c in LIST_ORDERS[order]), Asset.id)
    if ids is not None:
        total = session.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0
        found = {a.id: a for a in session.scalars(stmt.where(Asset.id.in_(ids)))}
        rows = [found[i] for i in ids if i in found]
    else:
        rows, total = fetch_page(session, stmt, page)
    out = []
    for a in rows:
        if can_see_jurisdiction_rows(actor, a.jurisdiction_id):
            out.append(Shown(id=a.id, jurisdiction_id=a.jurisdiction_id, full=True,
                             fields=stored_values(a)[0]))
        else:
            out.append(Shown(id=a.id, jurisdiction_id=a.jurisdiction_id, full=False,
                             fields=public_view(a, members[a.jurisdiction_id]).fields))
    return out, total


def matching_ids(*, session: Session, actor: Principal, region_id: int,
                 flt: AssetFilter | None = None) -> list[int]:
    """The ids of every asset the registry's list would show for the filter, in its order."""
    members = _members(session, region_id)
    stmt = _assets(actor, members, flt, full_only=False)
    return list(session.scalars(stmt.with_only_columns(Asset.id)))


def list_full_assets(*, session: Session, actor: Principal, region_id: int,
                     flt: AssetFilter | None = None, page: PageParams = PageParams(100)
                     ) -> tuple[list[Asset], int]:
    """Assets the actor sees in full (its jurisdiction's; every member's for regional roles)."""
    members = _members(session, region_id)
    return fetch_page(session, _assets(actor, members, flt, full_only=True), page)


def get_asset(*, session: Session, actor: Principal, asset_id: int) -> Asset:
    """The full asset, for its owner's staff and regional roles; 404 for anyone else."""
    asset = session.get(Asset, asset_id)
    if asset is None or not can_see_jurisdiction_rows(actor, asset.jurisdiction_id):
        raise NotFound("Asset not found")
    return asset


def public_view(asset: Asset, jurisdiction_name: str) -> AssetPublic:
    groups = list(asset.public_groups or [])
    values, _ = stored_values(asset)
    fields = {f: values[f] for g in groups for f in FIELD_GROUPS.get(g, ())}
    return AssetPublic(id=asset.id, jurisdiction_id=asset.jurisdiction_id,
                       jurisdiction_name=jurisdiction_name, public_groups=groups, fields=fields)


def get_public_asset(*, session: Session, asset_id: int) -> tuple[Asset, AssetPublic]:
    """An asset as the public sees it, with its photos if it publishes them."""
    asset = session.get(Asset, asset_id)
    if asset is None or not asset.public_groups:
        raise NotFound("Asset not found")
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=asset.jurisdiction_id)
    view = public_view(asset, j.name)
    view.photos = public_photos(session=session, assets=[asset]).get(asset.id, [])
    return asset, view


# ------------------------------------------------------------------------------ photos


def photos_public(asset: Asset | AssetPublic) -> bool:
    """Photos are public while the asset publishes anything and its ``photos`` group (the same
    answer for its public view, which has the asset's groups)."""
    return bool(asset.public_groups) and "photos" in (asset.public_groups or [])


def public_photo_url(asset_id: int, photo_id: int) -> str:
    return f"/property/public/{asset_id}/photos/{photo_id}"


def public_thumbnail_url(asset_id: int, photo_id: int) -> str:
    """The photo's thumbnail (``core.images.THUMB_SIDE`` on its longer side, or the photo
    itself when it has none), for where it is shown small."""
    return public_photo_url(asset_id, photo_id) + "/thumb"


def staff_photo_url(asset_id: int, photo_id: int) -> str:
    """The photo for staff who see the asset in full, published or not."""
    return f"/property/assets/{asset_id}/photos/{photo_id}"


def staff_thumbnail_url(asset_id: int, photo_id: int) -> str:
    """Its thumbnail for the same staff (the photo itself when it has none)."""
    return staff_photo_url(asset_id, photo_id) + "/thumb"


# Asset ids per query of :func:`public_photos`: well under SQLite's and PostgreSQL's limits on
# bound parameters, and more than a region lists, so a list takes one query.
PHOTO_IDS_PER_QUERY = 900


def public_photos(*, session: Session, assets: Sequence[Asset | AssetPublic]
                  ) -> dict[int, list[PhotoPublic]]:
    """The published photos of several assets by asset id, oldest first, without their bytes,
    in one query (one per ``PHOTO_IDS_PER_QUERY`` assets): a list of assets costs the same
    whether 1 or 500 of them have photos. An asset that does not publish its ``photos`` group
    has none here, and each photo is keyed by its own ``asset_id``."""
    shown = [a.id for a in assets if photos_public(a)]
    out: dict[int, list[PhotoPublic]] = {}
    for start in range(0, len(shown), PHOTO_IDS_PER_QUERY):
        rows = session.execute(
            select(AssetPhoto.id, AssetPhoto.asset_id, AssetPhoto.alt_text,
                   AssetPhoto.content_type, AssetPhoto.width, AssetPhoto.height,
                   AssetPhoto.synthetic)
            .where(AssetPhoto.asset_id.in_(shown[start:start + PHOTO_IDS_PER_QUERY]))
            .order_by(AssetPhoto.asset_id, AssetPhoto.id))
        for p in rows:
            out.setdefault(p.asset_id, []).append(PhotoPublic(
                id=p.id, url=public_photo_url(p.asset_id, p.id),
                thumbnail_url=public_thumbnail_url(p.asset_id, p.id), alt_text=p.alt_text,
                content_type=p.content_type, width=p.width, height=p.height,
                synthetic=p.synthetic))
    return out


def asset_photos(*, session: Session, asset_id: int) -> list[AssetPhoto]:
    """The asset's photos, oldest first, without their bytes."""
    return list(session.scalars(select(AssetPhoto).options(defer(AssetPhoto.data),
                                                           defer(AssetPhoto.thumbnail))
                                .where(AssetPhoto.asset_id == asset_id)
                                .order_by(AssetPhoto.id)))


def photos_without_thumbnail(*, session: Session) -> list[int]:
    """The ids of photos larger than a thumbnail but stored without one (before migration
    0022), oldest first."""
    return list(session.scalars(
        select(AssetPhoto.id).where(AssetPhoto.thumbnail.is_(None))
        .where((AssetPhoto.width > images.THUMB_SIDE) | (AssetPhoto.height > images.THUMB_SIDE))
        .order_by(AssetPhoto.id)))


def photo_bytes(photo: AssetPhoto, *, thumbnail: bool = False) -> bytes:
    """The bytes to serve: the thumbnail if asked for and there is one, else the photo (one
    too small to need a thumbnail, or stored before thumbnails were made)."""
    return (photo.thumbnail if thumbnail else None) or photo.data


def photo_etag(photo: AssetPhoto, *, thumbnail: bool = False) -> str:
    """The ETag of what :func:`photo_bytes` serves, from the row's metadata alone, so a copy
    still current gets its 304 without a byte read: a photo's bytes never change once stored
    (a new upload is a new row; the id, the moment it was stored to the microsecond and its
    size tell rows apart even where a database reuses a deleted row's id), and a thumbnail,
    once made (at upload or by ``property thumbnails``), never changes either: its tag adds its
    sides. A photo without a thumbnail serves itself, under its own tag."""
    stored = int(photo.created_at.timestamp() * 1_000_000)
    tag = f"p{photo.id}.{stored}.{photo.bytes}"
    if thumbnail and photo.thumbnail_width is not None:
        tag += f".t{photo.thumbnail_width}x{photo.thumbnail_height}"
    return tag


def _photo_row(session: Session, photo_id: int) -> AssetPhoto | None:
    """The row without its bytes (:func:`photo_bytes` reads the ones it serves, after the
    access check and only when the browser's copy is not current)."""
    return session.get(AssetPhoto, photo_id,
                       options=[defer(AssetPhoto.data), defer(AssetPhoto.thumbnail)])


def public_photo(*, session: Session, asset_id: int, photo_id: int) -> AssetPhoto:
    """One photo for anyone: 404 unless the asset publishes its photos (the same answer as
    for a photo that never existed). Serve it with :func:`photo_bytes`."""
    asset = session.get(Asset, asset_id)
    photo = _photo_row(session, photo_id)
    if asset is None or photo is None or photo.asset_id != asset.id or not photos_public(asset):
        raise NotFound("Photo not found")
    return photo


def staff_photo(*, session: Session, actor: Principal, asset_id: int, photo_id: int
                ) -> AssetPhoto:
    """One photo for staff who may see the asset in full (published or not); 404 for anyone
    else, as for a photo that never existed. Serve it with :func:`photo_bytes`."""
    asset = get_asset(session=session, actor=actor, asset_id=asset_id)
    photo = _photo_row(session, photo_id)
    if photo is None or photo.asset_id != asset.id:
        raise NotFound("Photo not found")
    return photo


def status_history(*, session: Session, asset_id: int) -> list[AssetStatusChange]:
    return list(session.scalars(select(AssetStatusChange)
                                .where(AssetStatusChange.asset_id == asset_id)
                                .order_by(AssetStatusChange.at, AssetStatusChange.id)))


def list_proposals(*, session: Session, asset_id: int, page: PageParams | None = None
                   ) -> tuple[list[Proposal], int]:
    """An asset's proposals and challenges, newest first: one page (all without ``page``)
    and how many there are."""
    stmt = (select(Proposal).where(Proposal.asset_id == asset_id)
            .order_by(Proposal.created_at.desc(), Proposal.id.desc()))
    if page is None:
        rows = list(session.scalars(stmt))
        return rows, len(rows)
    return fetch_page(session, stmt, page)


def proposal_history(*, session: Session, proposal_id: int) -> list[ProposalStatusChange]:
    return list(session.scalars(select(ProposalStatusChange)
                                .where(ProposalStatusChange.proposal_id == proposal_id)
                                .order_by(ProposalStatusChange.at, ProposalStatusChange.id)))


# ------------------------------------------------------------------------------ rollups


@dataclass
class AssetRow:
    asset: Asset
    jurisdiction: str
    facts: AssetFacts  # the values computed with (a stored value out of range left out)
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
               flt: AssetFilter | None = None) -> list[AssetRow]:
    """Assets the actor sees in full, not disposed of, with true cost, utilization and
    condition (every one: the rollups total them)."""
    params = parameters(session=session, region_id=region_id)
    members = _members(session, region_id)
    stmt = _assets(actor, members, flt, full_only=True).where(
        Asset.status != AssetStatus.disposed.value)
    out = []
    for a in session.scalars(stmt):
        f = facts(a, params)
        util = utilization_pct(f.occupancy, f.capacity)
        gfa = f.gross_floor_area_ft2
        occupied = gfa * min(util, 100) / 100 if util is not None and gfa else None
        out.append(AssetRow(asset=a, jurisdiction=members[a.jurisdiction_id], facts=f,
                            cost=true_cost(f, params, factors(), year=date.today().year),
                            utilization=util,
                            utilization_class=utilization_class(util, a.status, params),
                            condition=condition_index(f.repair_needs_cents,
                                                      f.replacement_value_cents),
                            occupied_ft2=occupied))
    return out


def rollup(rows: list[AssetRow], key: str) -> list[dict[str, Any]]:
    """Totals by 'jurisdiction' or 'use': count, ft2, true cost by component, tCO2e."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        k = r.jurisdiction if key == "jurisdiction" else r.asset.use
        g = groups.setdefault(k, {"key": k, "count": 0, "ft2": 0.0, "total_cents": 0,
                                  "budget_cents": 0, "social_cents": 0,
                                  "tco2e": 0.0, "components": {}, "underused": 0,
                                  "vacant": 0, "incomplete": 0})
        g["count"] += 1
        g["ft2"] += r.facts.gross_floor_area_ft2 or 0
        g["total_cents"] += r.cost.total_cents
        g["budget_cents"] += r.cost.budget_cents
        g["social_cents"] += r.cost.social_cents
        g["tco2e"] += r.cost.emissions.tco2e
        g["underused"] += r.utilization_class == "under-used"
        g["vacant"] += r.utilization_class == "vacant"
        g["incomplete"] += not r.cost.complete
        for c in r.cost.components:
            g["components"][c.key] = g["components"].get(c.key, 0) + c.cents
    return sorted(groups.values(), key=lambda g: (-g["total_cents"], g["key"]))


def _window(members: dict[int, str], *, q: str | None, use: str | None, status: str | None,
            include_in_use: bool) -> Select[Asset]:
    """The public window's assets of the region's members, filtered, in the window's order
    (name, then id): whose status is published and is surplus, vacant or under-used (or in
    use, if asked), every word of ``q`` in their published text."""
    statuses = list(PUBLIC_WINDOW_STATUSES) + ([AssetStatus.in_use.value]
                                               if include_in_use else [])
    stmt = select(Asset).where(Asset.jurisdiction_id.in_(list(members)),
                               Asset.status.in_(statuses), publishes("status"))
    if use:
        stmt = stmt.where(Asset.use == use)
    if status:
        stmt = stmt.where(Asset.status == status)
    for word in (q or "").split():
        stmt = stmt.where(_word_matches(word, false(), members))
    return stmt.order_by(Asset.name, Asset.id)


def public_window(*, session: Session, region_id: int, q: str | None = None,
                  use: str | None = None, status: str | None = None,
                  include_in_use: bool = False, page: PageParams | None = None,
                  with_photos: bool = True, total: int | None = None
                  ) -> tuple[list[tuple[Asset, AssetPublic]], int]:
    """Public assets whose status is published and is surplus, vacant or under-used (or in
    use, if asked), every word of ``q`` in their published text; one page of them (all
    without ``page``), and how many there are. With ``page`` and ``total`` (the count already
    made for these filters by :func:`public_window_counts`) the page is read without counting
    again, and ``total`` is returned. Each view carries its published photos, read for the
    whole page in one query (:func:`public_photos`); none without ``with_photos``, for a
    caller that shows only some of the views (it reads theirs with :func:`public_photos`)."""
    members = _members(session, region_id)
    stmt = _window(members, q=q, use=use, status=status, include_in_use=include_in_use)
    if page is None:
        rows = list(session.scalars(stmt))
        total = len(rows)
    elif total is None:
        rows, total = fetch_page(session, stmt, page)
    else:
        rows = list(session.scalars(stmt.limit(page.limit).offset(page.offset)))
    photos = public_photos(session=session, assets=rows) if with_photos else {}
    out = []
    for a in rows:
        view = public_view(a, members[a.jurisdiction_id])
        view.photos = photos.get(a.id, [])
        out.append((a, view))
    return out, total


def has_public_location() -> ColumnElement[bool]:
    """SQL: the asset's public view has a longitude (``public_view(a).fields["lon"]`` is not
    None): it publishes its ``location`` group and has a longitude that :func:`stored_values`
    keeps — within its range, as is the latitude if there is one (a location with either
    coordinate out of range reads as none). An unpublished location never counts."""
    bounds = model_bounds(AssetFields)
    lon, lat = bounds["lon"], bounds["lat"]
    return and_(publishes("location"), Asset.lon.is_not(None),
                Asset.lon.between(lon.lo, lon.hi),
                or_(Asset.lat.is_(None), Asset.lat.between(lat.lo, lat.hi)))


@dataclass(frozen=True)
class WindowCounts:
    total: int  # assets listed on every page together
    located: int  # of them, those whose public view has a location


def public_window_counts(*, session: Session, region_id: int, q: str | None = None,
                         use: str | None = None, status: str | None = None,
                         include_in_use: bool = False) -> WindowCounts:
    """How many assets :func:`public_window` lists for these filters, and how many of them
    show a published location, in one aggregate query that loads no row."""
    members = _members(session, region_id)
    stmt = _window(members, q=q, use=use, status=status, include_in_use=include_in_use)
    row = session.execute(stmt.order_by(None).with_only_columns(
        func.count(Asset.id), func.count(case((has_public_location(), Asset.id))))).one()
    return WindowCounts(total=int(row[0] or 0), located=int(row[1] or 0))


# ------------------------------------------------------------------------------ proposals


def proposal_queue(*, session: Session, actor: Principal,
                   statuses: Sequence[str] | None = None, kind: str | None = None,
                   page: PageParams = PageParams(200)
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
    rows, total = fetch_page(session, stmt.order_by(Proposal.created_at, Proposal.id), page,
                             rows=True)
    return [(row[0], row[1]) for row in rows], total


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
