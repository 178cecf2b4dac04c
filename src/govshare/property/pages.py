"""Staff pages of the property registry: the registry with rollups, an asset's page with its
true cost (every component with formula, inputs and sources), utilization, parameters."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govshare.carbon import service as carbon_service
from govshare.core import charts, forms, images, jobs
from govshare.core.charts import Field
from govshare.core.errors import BadRequest, GovshareError, NotFound
from govshare.core.http import (
    allow,
    body_limit,
    csrf_protect,
    get_session,
    image_response,
    redirect,
    render,
    row_id,
)
from govshare.core.paging import PageParams
from govshare.core.tenancy import Action, Principal, allows
from govshare.property import api, planning, queries, service, solver
from govshare.property.calc import (
    COST_KIND_LABELS,
    DISCOUNT_RATES,
    Parameters,
    condition_index,
    utilization_pct,
)
from govshare.property.models import AssetStatus, AssetUse
from govshare.property.schemas import (
    ASSETS,
    CONSOLIDATION_MODELS,
    CONSOLIDATION_SOURCES,
    FIELD_GROUPS,
    KEEP_TOGETHER_HINT,
    LISTING_FIELDS,
    LISTING_LABELS,
    MAX_PHOTOS,
    PHOTO_ALT_MAX,
    SOLVE_MINUTES,
    SOLVE_MINUTES_CHOICES,
    STATUS_LABELS,
    USE_LABELS,
    ConsolidationCarbonIn,
    ConsolidationIn,
    ListingIn,
    PhotoIn,
)
from govshare.regions import queries as regions_queries

AssetId = Annotated[int, row_id("asset")]  # 422 naming it unless 1..MAX_ID
PhotoId = Annotated[int, row_id("photo")]
# A photo as staff see it: kept by their browser only, which asks the site again before each
# use (its ETag: an unchanged photo costs a 304, and access is checked every time).
STAFF_PHOTO_CACHE = "private, no-cache"
router = APIRouter(include_in_schema=False)

PARAMETER_HELP: dict[str, str] = {
    "discount_rate": "Near-term Ramsey discount rate of the EPA social cost of greenhouse "
                     "gases (2.5%, 2.0% or 1.5%)",
    "repair_amortization_years": "Years over which repair needs are spread (straight line)",
    "vacant_cost_cents_per_ft2": "Social cost of a vacant square foot per year, in cents",
    "underused_below_pct": "Utilization (occupancy / capacity) below which an asset is under-used",
    "vacant_below_pct": "Utilization below which an asset counts as vacant",
    "electricity_cents_per_kwh": "Electricity price, cents per kWh",
    "gas_cents_per_therm": "Natural gas price, cents per therm",
    "steam_cents_per_kbtu": "District steam price, cents per kBtu",
    "fuel_oil_cents_per_gallon": "Fuel oil price, cents per gallon",
    "propane_cents_per_gallon": "Propane price, cents per gallon",
    "scc_year": "Emission year for the social cost (empty: each asset's energy year)",
    "default_grid_subregion": "eGRID subregion for assets without a ZIP code (e.g. NWPP)",
}


MEMBER = Field("member", "Member", "text")
USE = Field("use", "Use", "text")


PER_PAGE = 50
SORTS = {"member": "Member, then name", "name": "Name", "use": "Use, then name",
         "cost": "True cost, highest first (your assets)"}


@router.get("/property")
def registry(
    request: Request,
    jurisdiction_id: str = Query("", max_length=12), use: str = Query("", max_length=40),
    status: str = Query("", max_length=40), q: str = Query("", max_length=100),
    sort: str = Query("member", max_length=10), page: int = Query(1, ge=1, le=100_000),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_read)),
) -> Response:
    region = regions_queries.require_current_region(session=session)
    flt = queries.AssetFilter(
        jurisdiction_id=int(jurisdiction_id) if jurisdiction_id.isdigit() else None,
        use=use if use in AssetUse.__members__ else None,
        status=status if status in AssetStatus.__members__ else None, q=q or None)
    sort = sort if sort in SORTS else "member"
    rows = queries.asset_rows(session=session, actor=actor, region_id=region.id, flt=flt)
    window = PageParams(PER_PAGE, (page - 1) * PER_PAGE)
    if sort == "cost":  # over the assets seen in full (the others have no cost here), then
        cost = {r.asset.id: r.cost.total_cents for r in rows}  # the rest in member order
        ranked = sorted(queries.matching_ids(session=session, actor=actor,
                                             region_id=region.id, flt=flt),
                        key=lambda i: (i not in cost, -cost.get(i, 0)))
        assets, total = queries.list_assets(
            session=session, actor=actor, region_id=region.id, flt=flt,
            ids=ranked[window.offset:window.offset + PER_PAGE])
    else:
        assets, total = queries.list_assets(session=session, actor=actor, region_id=region.id,
                                            flt=flt, page=window, order=sort)
    by_j = queries.rollup(rows, "jurisdiction")
    by_use = queries.rollup(rows, "use")
    members = regions_queries.list_jurisdictions(session=session, region_id=region.id)
    costs = {r.asset.id: r for r in rows}
    return render(request, "property/registry.html", {
        "region": region, "assets": assets, "total": total, "costs": costs,
        "by_j": by_j, "by_use": by_use, "members": members,
        "names": {j.id: j.name for j in members},
        "filters": {"jurisdiction_id": jurisdiction_id, "use": use, "status": status, "q": q,
                    "sort": sort},
        "sorts": SORTS, "page": page, "pages": max(1, -(-total // PER_PAGE)),
        "page_url": lambda n: "/property?" + urlencode(
            {k: v for k, v in {"q": q, "jurisdiction_id": jurisdiction_id, "use": use,
                               "status": status, "sort": sort, "page": n}.items()
             if v not in ("", "member", 1)}),
        "first_shown": window.offset + 1 if assets else 0,
        "last_shown": window.offset + len(assets),
        "export_formats": ("csv", "xlsx", "geojson"),
        "uses": USE_LABELS, "statuses": STATUS_LABELS,
        "cost_chart": charts.bar(
            [{"member": g["key"], "cost": g["total_cents"] / 100} for g in by_j],
            id="cost-by-member", title="Annual true cost by member", category=MEMBER,
            value=Field("cost", "True cost per year", "usd")),
        "carbon_chart": charts.bar(
            [{"use": USE_LABELS.get(g["key"], g["key"]), "t": g["tco2e"]} for g in by_use],
            id="carbon-by-use", title="Tonnes CO2e per year by use", category=USE,
            value=Field("t", "Emissions", unit="t CO2e per year")),
        "can_manage": allows(actor, Action.property_manage),
    })


@router.get("/property/assets/{asset_id}")
def asset_page(request: Request, asset_id: AssetId, session: Session = Depends(get_session),
               actor: Principal = Depends(allow(Action.property_read))) -> Response:
    return _asset_page(request, session, actor, asset_id, [])


def _asset_page(request: Request, session: Session, actor: Principal, asset_id: int,
                errors: list[dict[str, Any]], status_code: int = 200,
                listing: dict[str, str] | None = None, alt_text: str = "") -> Response:
    region = regions_queries.require_current_region(session=session)
    asset = queries.get_asset(session=session, actor=actor, asset_id=asset_id)
    params = queries.parameters(session=session, region_id=region.id)
    facts = queries.facts(asset, params)
    tc = queries.asset_true_cost(asset, params)
    j = regions_queries.get_jurisdiction(session=session, jurisdiction_id=asset.jurisdiction_id)
    return render(request, "property/asset.html", {
        "asset": asset, "jurisdiction": j, "tc": tc, "params": params,
        "cost_kinds": COST_KIND_LABELS,
        "history": queries.status_history(session=session, asset_id=asset.id),
        "proposals": queries.list_proposals(session=session, asset_id=asset.id)[0],
        "next_statuses": ASSETS.next_states(asset.status),
        "groups": FIELD_GROUPS, "uses": USE_LABELS, "statuses": STATUS_LABELS,
        "condition": condition_index(facts.repair_needs_cents, facts.replacement_value_cents),
        "utilization": utilization_pct(facts.occupancy, facts.capacity),
        "out_of_range": sorted(facts.out_of_range),
        "synthetic": set(asset.synthetic_fields or []), "errors": errors,
        "field_errors": forms.by_field(errors),
        "listing": listing if listing is not None else {
            f: "" if getattr(asset, f) is None else str(getattr(asset, f))
            for f in LISTING_FIELDS},
        "listing_labels": LISTING_LABELS, "alt_text": alt_text,
        "photos": queries.asset_photos(session=session, asset_id=asset.id),
        "photo_url": queries.staff_photo_url,
        "photos_public": queries.photos_public(asset), "max_photos": MAX_PHOTOS,
        "photo_alt_max": PHOTO_ALT_MAX, "photo_max_mb": images.MAX_BYTES // (1024 * 1024),
        "can_manage": allows(actor, Action.property_manage, asset.jurisdiction_id),
        "carbon_years": carbon_service.source_emissions(
            session, actor, source_domain="property", source_key=str(asset.id)),
    }, status_code=status_code)


@router.post("/property/assets/{asset_id}/status", dependencies=[Depends(csrf_protect)])
def asset_status(request: Request, asset_id: AssetId, to_status: str = Form(""),
                 reason: str = Form(""), session: Session = Depends(get_session),
                 actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    try:
        if to_status not in AssetStatus.__members__:
            raise BadRequest(f"Unknown status {to_status!r}")
        asset = service.transition(session=session, actor=actor, asset_id=asset_id,
                                   to_status=AssetStatus(to_status), reason=reason or None)
    except GovshareError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _asset_page(request, session, actor, asset_id,
                           [{"loc": ["status"], "reason": exc.detail}], exc.status)
    session.commit()
    return redirect(f"/property/assets/{asset.id}",
                    flash=f"Status is now {STATUS_LABELS[asset.status].lower()}.")


@router.post("/property/assets/{asset_id}/publish", dependencies=[Depends(csrf_protect)])
async def asset_publish(request: Request, asset_id: AssetId,
                        session: Session = Depends(get_session),
                        actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    form = await request.form()
    groups = [str(g) for g in form.getlist("groups")]
    asset = service.publish_groups(session=session, actor=actor, asset_id=asset_id,
                                   groups=groups)
    session.commit()
    shown = ", ".join(asset.public_groups) if asset.public_groups else "nothing (private)"
    return redirect(f"/property/assets/{asset.id}", flash=f"Public now: {shown}.")


@router.post("/property/assets/{asset_id}/interchangeable",
             dependencies=[Depends(csrf_protect)])
def asset_interchangeable(request: Request, asset_id: AssetId,
                          interchangeable: str = Form("", max_length=10),
                          session: Session = Depends(get_session),
                          actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    if interchangeable not in ("yes", "no"):
        return _asset_page(request, session, actor, asset_id,
                           [{"loc": ["interchangeable"], "reason": "Choose yes or no"}], 400)
    asset = service.set_interchangeable(session=session, actor=actor, asset_id=asset_id,
                                        interchangeable=interchangeable == "yes")
    session.commit()
    return redirect(f"/property/assets/{asset.id}", flash=(
        "Its space counts as interchangeable within its use." if asset.interchangeable else
        "Its space is special-purpose: consolidation plans leave it out."))


@router.post("/property/assets/{asset_id}/listing", dependencies=[Depends(csrf_protect)])
async def asset_listing(request: Request, asset_id: AssetId,
                        session: Session = Depends(get_session),
                        actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    """The public page's fields: site area, zoning, contact, proposal deadline."""
    form = await request.form()
    values = {f: str(form.get(f, ""))[:1000].strip() for f in LISTING_FIELDS}
    try:
        data = ListingIn.model_validate({k: (v or None) for k, v in values.items()})
        asset = service.update_listing(session=session, actor=actor, asset_id=asset_id,
                                       data=data)
    except (ValidationError, GovshareError) as exc:
        if isinstance(exc, GovshareError) and exc.status in (403, 404):
            raise
        session.rollback()
        status = 422 if isinstance(exc, ValidationError) else exc.status
        return _asset_page(request, session, actor, asset_id,
                           forms.form_errors(exc, labels=LISTING_LABELS,
                                             anchors={f: f"l-{f}" for f in LISTING_FIELDS}),
                           status,
                           listing=values)
    session.commit()
    return redirect(f"/property/assets/{asset.id}", flash="Public page details saved.")


@router.post("/property/assets/{asset_id}/photos", dependencies=[Depends(csrf_protect)])
@body_limit("upload", max_bytes=images.MAX_BYTES + 64 * 1024)
async def asset_photo_add(request: Request, asset_id: AssetId,
                          session: Session = Depends(get_session),
                          actor: Principal = Depends(allow(Action.property_manage))
                          ) -> Response:
    """Upload a photo (JPEG, PNG or WebP; the body is bounded while it streams in, 413 past
    the limit); re-encoded without its metadata by ``core.images``."""
    form = await request.form()
    alt_text = str(form.get("alt_text", ""))[:PHOTO_ALT_MAX + 100]
    upload = form.get("photo")
    try:
        data = PhotoIn(alt_text=alt_text)
        content = b""
        if upload is not None and not isinstance(upload, str):
            content = await upload.read(images.MAX_BYTES + 1)
        if not content:
            raise BadRequest("Choose a photo to upload",
                             errors=[{"loc": ["photo"], "reason": "Choose a photo to upload"}])
        photo = service.add_photo(session=session, actor=actor, asset_id=asset_id,
                                  content=content, data=data)
    except (ValidationError, GovshareError) as exc:
        if isinstance(exc, GovshareError) and exc.status in (403, 404):
            raise
        session.rollback()
        status = 422 if isinstance(exc, ValidationError) else exc.status
        return _asset_page(request, session, actor, asset_id,
                           forms.form_errors(exc, labels={"photo": "Photo",
                                                          "alt_text": "Description"}),
                           status, alt_text=alt_text)
    session.commit()
    return redirect(f"/property/assets/{asset_id}#photos",
                    flash=f"Photo {photo.id} added ({photo.width} x {photo.height} pixels, "
                          "metadata removed).")


@router.post("/property/assets/{asset_id}/photos/{photo_id}/remove",
             dependencies=[Depends(csrf_protect)])
def asset_photo_remove(asset_id: AssetId, photo_id: PhotoId,
                       session: Session = Depends(get_session),
                       actor: Principal = Depends(allow(Action.property_manage))) -> Response:
    service.remove_photo(session=session, actor=actor, asset_id=asset_id, photo_id=photo_id)
    session.commit()
    return redirect(f"/property/assets/{asset_id}#photos", flash="Photo removed.")


@router.get("/property/assets/{asset_id}/photos/{photo_id}")
def asset_photo(request: Request, asset_id: AssetId, photo_id: PhotoId,
                session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.property_read))) -> Response:
    """A photo for staff who see the asset in full, published or not (never cached shared);
    404 for anyone else before any 304. With its ETag, as the public window's photos: a copy
    still current gets 304 without the bytes."""
    photo = queries.staff_photo(session=session, actor=actor, asset_id=asset_id,
                                photo_id=photo_id)
    return image_response(request, lambda: queries.photo_bytes(photo), photo.content_type,
                          cache_control=STAFF_PHOTO_CACHE, etag=queries.photo_etag(photo))


@router.get("/property/assets/{asset_id}/photos/{photo_id}/thumb")
def asset_photo_thumbnail(request: Request, asset_id: AssetId, photo_id: PhotoId,
                          session: Session = Depends(get_session),
                          actor: Principal = Depends(allow(Action.property_read))) -> Response:
    """The photo's thumbnail for the same staff, under the same rules and with its own ETag;
    the photo itself when it has none (small already, or stored before thumbnails)."""
    photo = queries.staff_photo(session=session, actor=actor, asset_id=asset_id,
                                photo_id=photo_id)
    return image_response(request, lambda: queries.photo_bytes(photo, thumbnail=True),
                          photo.content_type, cache_control=STAFF_PHOTO_CACHE,
                          etag=queries.photo_etag(photo, thumbnail=True))


@router.get("/property/utilization")
def utilization(request: Request, session: Session = Depends(get_session),
                actor: Principal = Depends(allow(Action.property_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    params = queries.parameters(session=session, region_id=region.id)
    rows = queries.asset_rows(session=session, actor=actor, region_id=region.id)
    ranked = sorted((r for r in rows if r.cost_per_occupied_ft2_cents is not None),
                    key=lambda r: -(r.cost_per_occupied_ft2_cents or 0))
    flagged = [r for r in rows if r.utilization_class in ("under-used", "vacant")]
    classes: dict[str, int] = {}
    for r in rows:
        classes[r.utilization_class] = classes.get(r.utilization_class, 0) + 1
    by_use: dict[str, list[float]] = {}
    for r in rows:
        if r.utilization is not None:
            by_use.setdefault(r.asset.use, []).append(r.utilization)
    use_chart = charts.bar(
        [{"use": USE_LABELS.get(k, k), "u": sum(v) / len(v), "n": len(v)}
         for k, v in sorted(by_use.items())],
        id="util-by-use", title="Average utilization by use", category=USE,
        value=Field("u", "Average utilization", "percent"),
        details=[Field("n", "Assets with a utilization")])
    return render(request, "property/utilization.html", {
        "params": params, "ranked": ranked[:50], "flagged": flagged, "classes": classes,
        "use_chart": use_chart, "uses": USE_LABELS,
        "statuses": STATUS_LABELS, "n": len(rows),
    })


@router.get("/property/parameters")
def parameters_page(request: Request, session: Session = Depends(get_session),
                    actor: Principal = Depends(allow(Action.property_read))) -> Response:
    region = regions_queries.require_current_region(session=session)
    params = queries.parameters(session=session, region_id=region.id)
    return _parameters_page(request, actor, params.__dict__, [])


def _parameters_page(request: Request, actor: Principal, values: dict[str, Any],
                     errors: list[dict[str, Any]], status_code: int = 200) -> Response:
    return render(request, "property/parameters.html", {
        "values": values, "defaults": Parameters().__dict__, "help": PARAMETER_HELP,
        "rates": DISCOUNT_RATES, "errors": errors,
        "can_edit": allows(actor, Action.property_parameters),
    }, status_code=status_code)


@router.post("/property/parameters", dependencies=[Depends(csrf_protect)])
async def parameters_save(request: Request, session: Session = Depends(get_session),
                          actor: Principal = Depends(allow(Action.property_parameters))
                          ) -> Response:
    form = await request.form()
    values: dict[str, Any] = {}
    for key in Parameters.__dataclass_fields__:
        raw = str(form.get(key, "")).strip()
        if raw != "":
            values[key] = raw
    try:
        region = regions_queries.require_current_region(session=session)
        service.set_parameters(session=session, actor=actor, region_id=region.id,
                               params=values)
    except GovshareError as exc:
        return _parameters_page(request, actor, values,
                                exc.errors or [{"loc": [], "reason": exc.detail}], exc.status)
    session.commit()
    return redirect("/property/parameters", flash="Parameters saved; every true cost now uses "
                    "them.")


# Consolidation solves run in a background thread (core.jobs, planning.JOBS): a page that
# asked for one waits up to INLINE_SECONDS and shows the plan if it is ready, else a page that
# shows the solve's progress, reloads itself and offers to stop it (with the best plan found
# so far). Its buttons (to the carbon plan, to the casebook) name the solve, so what they act
# on is the plan shown (planning.kept), not one solved again.
INLINE_SECONDS = 2.0
MAX_PINS = 1_000
PHASES = {"lagrangian": "estimating how low the cost can go and trying plans",
          "milp": "searching for the best plan and proving it",
          "tree": "trying choices of buildings and proving none is cheaper",
          "quick": "finding a quick plan and bound for each part",
          "split": "bounding the cost with occupants free to split between buildings",
          "done": "finishing"}


def _pins(request: Request, keep: list[int], close: list[int]) -> dict[int, bool]:
    """Buildings to keep or close whatever the cost: the page's choices (``pin_ID`` = keep,
    close or empty) and ``keep=ID`` / ``close=ID`` (links from the casebook)."""
    pins = {**{i: True for i in keep}, **{i: False for i in close}}
    for name, value in request.query_params.multi_items():
        if name.startswith("pin_") and name[4:].isdigit() and value in ("keep", "close"):
            pins[int(name[4:])] = value == "keep"
    if len(pins) > MAX_PINS:
        raise BadRequest(f"At most {MAX_PINS} buildings can be kept or closed by hand")
    return pins


def _consolidation_url(form: dict[str, Any], pins: dict[int, bool], job: str = "") -> str:
    q: list[tuple[str, Any]] = [(k, v) for k, v in form.items() if v not in ("", None)]
    q += [("keep" if keep else "close", i) for i, keep in sorted(pins.items())]
    if job:
        q.append(("job", job))
    return "/property/consolidation?" + urlencode(q)


@router.get("/property/consolidation")
def consolidation_page(
    request: Request,
    use: str = Query("", max_length=40),
    max_km: str = Query("15", max_length=10),
    max_sites: str = Query("", max_length=6),
    travel: str = Query(str(planning.DEFAULT_TRAVEL_CENTS_PER_PERSON_KM / 100), max_length=12),
    move_cost: str = Query(f"{planning.DEFAULT_MOVE_CENTS_PER_PERSON / 100:g}", max_length=12),
    fitout_cost: str = Query(f"{planning.DEFAULT_FITOUT_CENTS_PER_PERSON / 100:g}",
                             max_length=12),
    charge_pct: str = Query(f"{planning.DEFAULT_CHARGE_PCT:g}", max_length=12),
    keep_together: str = Query("", max_length=10),
    minutes: str = Query(str(ConsolidationIn.model_fields["minutes"].default), max_length=10),
    keep: list[int] = Query([]),
    close: list[int] = Query([]),
    job: str = Query("", max_length=40),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.property_consolidate)),
) -> Response:
    """The consolidation plan for one use (GET: nothing is written). Short solves are shown
    at once; long ones run in the background and this page shows their progress."""
    region = regions_queries.require_current_region(session=session)
    result, error, running = None, None, None
    form = {"use": use, "max_km": max_km, "max_sites": max_sites, "travel": travel,
            "move_cost": move_cost, "fitout_cost": fitout_cost, "charge_pct": charge_pct,
            "keep_together": keep_together.strip(), "minutes": minutes.strip()}
    pins: dict[int, bool] = {}
    try:
        pins = _pins(request, keep, close)
        if job:
            found = planning.JOBS.get(job, region.id)
            if found is None:
                raise BadRequest("That plan is no longer kept here (the server restarted, or "
                                 "many plans were made since): find the best plan again")
            running = found
        elif use:
            if use not in AssetUse.__members__:
                raise BadRequest(f"Unknown use {use!r}")
            try:
                asked = ConsolidationIn(max_km=max_km, max_sites=max_sites.strip() or None,
                                        travel=travel, move_cost=move_cost,
                                        fitout_cost=fitout_cost, charge_pct=charge_pct,
                                        keep_together=form["keep_together"] or False,
                                        minutes=form["minutes"])
            except ValidationError as exc:
                labels = {k: f.description or k for k, f in ConsolidationIn.model_fields.items()}
                raise BadRequest("; ".join(
                    f"{e['label']}: {e['reason']}"
                    for e in forms.form_errors(exc, labels=labels))) from None
            problem = planning.prepare(
                session=session, actor=actor, region_id=region.id, use=use,
                max_km=asked.max_km, max_sites=asked.max_sites,
                travel_cents_per_person_km=round(asked.travel * 100), pins=pins,
                move_cents_per_person=round(asked.move_cost * 100),
                fitout_cents_per_person=round(asked.fitout_cost * 100),
                charge_pct=asked.charge_pct, keep_together=asked.keep_together,
                time_limit=60.0 * asked.minutes)
            # the checkbox's one value ("yes") or none: links and hidden fields carry that
            form["keep_together"] = "yes" if asked.keep_together else ""

            def work(j: jobs.Job[planning.Plan]) -> planning.Plan:
                def report(p: Any) -> None:
                    j.progress = p
                return planning.run(problem, on_progress=report, cancel=j.cancel)

            running = planning.JOBS.start(
                problem.key(), region.id, work,
                meta={"form": form, "pins": pins, "use": use,
                      "time_limit": problem.time_limit, "sites": len(problem.sites)})
            if not running.wait(min(INLINE_SECONDS,
                                    request.app.state.settings.page_wait_seconds)):
                return redirect(_consolidation_url(form, pins, running.id))
    except GovshareError as exc:
        error = exc.detail
    if running is not None:
        form, pins = dict(running.meta["form"]), dict(running.meta["pins"])
        if running.running:
            return render(request, "property/consolidation_progress.html", {
                "job": running, "form": form, "uses": USE_LABELS, "phases": PHASES,
                "part_workers": solver.PART_WORKERS,
                "limit_words": planning.duration(running.meta["time_limit"]),
                "models": CONSOLIDATION_MODELS,
                "progress": running.progress,
            }, status_code=202)
        if running.error is not None:
            error = f"The solve failed: {running.error}"
        else:
            result = running.result
    return _consolidation_result(
        request, session, actor, form=form, result=result, error=error, pins=pins,
        rerun_url=_consolidation_url(form, pins) if running is not None else None,
        status_code=400 if error and result is None and running is None else 200,
        job=running.id if running is not None and result is not None else "")


CARBON_LABELS = {"start_year": "First year the measures take effect", "use": "Use",
                 "max_km": "Farthest move (km)", "max_sites": "At most this many buildings",
                 "travel": "Travel cost, $ per person-km per year", "keep": "Kept by hand",
                 "close": "Closed by hand",
                 "keep_together": str(ConsolidationIn.model_fields["keep_together"].description),
                 "minutes": str(ConsolidationIn.model_fields["minutes"].description)}
# What a checked box may be written as (pydantic's words for true); the page sends "yes".
CHECKED = ("yes", "on", "true", "1", "y", "t")


def _checked(value: Any) -> bool:
    """Whether a form's keep_together box shows ticked (the value itself is checked by
    ``ConsolidationIn``; a refused one shows as it was typed, with its error)."""
    return str(value or "").strip().lower() in CHECKED


def _minutes(value: Any) -> int | None:
    """The form's solver minutes as a whole number within SOLVE_MINUTES (empty: the
    default), None when it is not one (``ConsolidationIn`` names the error)."""
    text = str(value if value is not None else "").strip()
    if not text:
        return int(ConsolidationIn.model_fields["minutes"].default)
    if not (text.isascii() and text.isdigit()) or not SOLVE_MINUTES.admits(int(text)):
        return None
    return int(text)


def _consolidation_result(request: Request, session: Session, actor: Principal, *,
                          form: dict[str, Any], result: planning.Plan | None,
                          error: str | None, pins: dict[int, bool], rerun_url: str | None,
                          status_code: int, carbon_errors: list[dict[str, Any]] | None = None,
                          start_year: str = "", job: str = "") -> Response:
    """The plan page; with a plan, what it would add to the carbon plan (for those who may
    read the inventory) and the button that adds it (for those who may plan). ``job``: the
    solve that found the plan shown, named by the page's buttons (see `planning.kept`)."""
    carbon = None
    region = regions_queries.require_current_region(session=session)
    minutes = _minutes(form.get("minutes"))
    longer = next((c for c in SOLVE_MINUTES_CHOICES if minutes is not None and c > minutes),
                  None)
    longer_url = None
    if (longer is not None and result is not None and not result.proven
            and result.solution.status == "time_limit"):
        longer_url = _consolidation_url({**form, "minutes": str(longer)}, pins)
    if result is not None and result.has_plan and allows(actor, Action.carbon_read,
                                                         region_id=region.id):
        closed = [service.ClosedBuilding(s.asset.id, s.asset.name, s.asset.jurisdiction_id)
                  for s in result.sites if not s.keep]
        carbon = service.consolidation_carbon(session=session, actor=actor,
                                              region_id=region.id, closed=closed)
    return render(request, "property/consolidation.html", {
        "form": form, "result": result, "error": error, "uses": USE_LABELS,
        "keep_together": _checked(form.get("keep_together")),
        "models": CONSOLIDATION_MODELS, "keep_together_hint": KEEP_TOGETHER_HINT,
        "travel_source": planning.TRAVEL_SOURCE, "pins": pins,
        "labels": {k: f.description for k, f in ConsolidationIn.model_fields.items()},
        "sources": CONSOLIDATION_SOURCES, "rerun_url": rerun_url, "carbon": carbon,
        "minute_choices": SOLVE_MINUTES_CHOICES, "longer_url": longer_url,
        "longer_minutes": longer,
        "minutes": minutes if minutes is not None else form.get("minutes") or "",
        "can_plan_carbon": allows(actor, Action.carbon_plan, region_id=region.id),
        "job_id": job,
        "guest_load_note": service.GUEST_LOAD_NOT_MODELED,
        "start_year": start_year or str(service.next_year(session)),
        "carbon_errors": carbon_errors or [],
        "carbon_field_errors": forms.by_field(carbon_errors or []),
    }, status_code=status_code)


def _carbon_form(form: Any) -> dict[str, Any]:
    """The plan's inputs as posted by the plan page's button (empty numbers: the plan's
    defaults; pins as keep=ID / close=ID)."""
    def text(name: str, limit: int = 40) -> str:
        return str(form.get(name) or "").strip()[:limit]

    raw = {"use": text("use"), "max_km": text("max_km") or None,
           "max_sites": text("max_sites") or None, "travel": text("travel") or None,
           "keep_together": text("keep_together") or False,
           "keep": [str(x)[:12] for x in form.getlist("keep")][:MAX_PINS + 1],
           "close": [str(x)[:12] for x in form.getlist("close")][:MAX_PINS + 1],
           "start_year": text("start_year", 12) or None}
    if text("minutes", 10):  # empty: the default minute
        raw["minutes"] = text("minutes", 10)
    return raw


@router.post("/property/consolidation/carbon-measures", dependencies=[Depends(csrf_protect)])
async def consolidation_to_carbon(request: Request, session: Session = Depends(get_session),
                                  actor: Principal = Depends(allow(Action.carbon_plan))
                                  ) -> Response:
    """Add the plan's emissions effect to the carbon plan: the plan the page showed (its
    solve, ``job``, while this process keeps it), else the plan found again from its inputs
    when that takes at most the default minute; a refused field shows on the plan page,
    named. A longer plan no longer kept goes back to its page, which finds it again."""
    posted = await request.form()
    raw = _carbon_form(posted)
    job = str(posted.get("job") or "").strip()[:40]

    def work() -> Response:
        region = regions_queries.require_current_region(session=session)
        try:
            data = ConsolidationCarbonIn.model_validate(raw)
        except ValidationError as exc:
            errors = forms.form_errors(exc, labels=CARBON_LABELS,
                                       anchors={"start_year": "carbon-start-year"})
            if raw["use"] not in AssetUse.__members__:
                raise BadRequest("; ".join(f"{e['label']}: {e['reason']}"
                                           for e in errors)) from None
            pins = {}
            for k, keep in (("keep", True), ("close", False)):
                pins.update({int(x): keep for x in raw[k] if x.isdigit()})
            plan_form = {"use": raw["use"], "max_km": raw["max_km"] or "15",
                         "max_sites": raw["max_sites"] or "",
                         "travel": raw["travel"] or str(
                             planning.DEFAULT_TRAVEL_CENTS_PER_PERSON_KM / 100),
                         "move_cost": f"{planning.DEFAULT_MOVE_CENTS_PER_PERSON / 100:g}",
                         "fitout_cost": f"{planning.DEFAULT_FITOUT_CENTS_PER_PERSON / 100:g}",
                         "charge_pct": f"{planning.DEFAULT_CHARGE_PCT:g}",
                         "keep_together": raw["keep_together"] or "",
                         "minutes": raw.get("minutes", "")}
            result, error = None, None
            try:
                ok = ConsolidationCarbonIn.model_validate({**raw, "start_year": None})
                result = api.run_plan(session=session, actor=actor, region_id=region.id,
                                      data=ok, job=job,
                                      inline_limit=planning.DEFAULT_TIME_LIMIT)
            except ValidationError as plan_exc:  # named, as the plan page names them
                error = "The plan's inputs are not valid: find the plan again (" + "; ".join(
                    f"{e['label']}: {e['reason']}"
                    for e in forms.form_errors(plan_exc, labels=CARBON_LABELS)) + ")"
            except planning.PlanNotKept as not_kept:
                error = not_kept.detail
            except GovshareError:
                error = "The plan's inputs are not valid: find the plan again"
            return _consolidation_result(
                request, session, actor, form=plan_form, result=result, error=error,
                pins=pins, rerun_url=None, status_code=422, carbon_errors=errors,
                start_year=str(raw["start_year"] or ""), job=job if result else "")
        try:
            out = api.add_plan_to_carbon(session=session, actor=actor, region_id=region.id,
                                         data=data, job=job,
                                         inline_limit=planning.DEFAULT_TIME_LIMIT)
        except planning.PlanNotKept:  # its page finds it again, in the background
            return redirect(service.consolidation_link(data), flash=planning.found_again(
                60.0 * data.minutes, "Add it to the carbon plan"))
        session.commit()
        left = sum(len(m.left_out) for m in out.members)
        return redirect("/carbon/targets", flash=(
            f"Added to the carbon plan: {len(out.measures)} consolidation measure"
            f"{'s' if len(out.measures) != 1 else ''} from {out.start_year}"
            + (f", replacing {out.replaced} of the same plan" if out.replaced else "")
            + (f"; {left} closed building{'s' if left != 1 else ''} without recorded "
               "emissions left out" if left else "") + "."))

    return await run_in_threadpool(work)


@router.post("/property/consolidation/cancel", dependencies=[Depends(csrf_protect)])
def consolidation_cancel(job: str = Form("", max_length=40),
                         session: Session = Depends(get_session),
                         actor: Principal = Depends(allow(Action.property_consolidate))
                         ) -> Response:
    """Stop a background solve: its page then shows the best plan found so far."""
    region = regions_queries.require_current_region(session=session)
    found = planning.JOBS.get(job, region.id)
    if found is None:
        raise NotFound("No such solve is running")
    found.cancel.set()
    found.wait(INLINE_SECONDS)
    return redirect(_consolidation_url(found.meta["form"], found.meta["pins"], found.id),
                    flash="Stopping the solve…" if found.running else
                    "Stopped: the best plan found so far is shown.")
