"""Demo data of the property registry: the real public buildings of the demo region.

Source: the City of Seattle's 2016 building energy benchmarking (shared
``seattle/building_energy_benchmarking_2016.csv``), the rows of buildings owned by a member of
the demo region, copied into ``govshare/property/data/seattle_public_buildings_2016.csv`` by
``scripts/extract_demo_buildings.py`` (see ``property/data/SOURCES.md``). They are imported
*through the product's own importer* with the ``seattle-benchmarking`` preset: real names,
addresses, floor areas, years built, locations and 2016 energy use.

Who owns a building (:func:`owner_of`), from the benchmarking file's own columns:

- City of Seattle: ``BuildingType`` is ``Nonresidential COS`` (City of Seattle-owned).
- Seattle Public Schools: ``BuildingType`` is ``SPS-District K-12``.
- King County: the property name starts with ``King County`` or ``King Co`` (the courthouse,
  the correctional facility, public health) or names ``KC Metro Transit`` (transit bases).
  "United Way of King County" is a charity, not the county, and does not match.
- State of Washington: ``BuildingType`` is ``Nonresidential WA`` (the Burke Museum, the state
  museum of natural history), or the name names the Department of Social & Health Services
  (``DSHS``, ``WSDSHS``, ``Dept of Social & Health Services``) or ``Washington State
  Ferries`` (WSDOT). Not matched on purpose: the University of Washington (a separate state
  institution, not a member) and the Washington State Convention Center (owned by a public
  facilities district).

Special-purpose space (``interchangeable`` = no, so consolidation leaves it out and says
why): the Justice Center (police headquarters and the municipal court among the City's
offices), City Light's System Operations Center, a community health clinic filed as an office,
the correctional facility, and every asset of use ``other`` (arenas, theaters, museums: a
grab bag of unlike buildings, none of which could take in another's occupants).

Duplicate records are not two buildings (:func:`dedupe`): a record whose name marks it as a
copy (``... - COPY FOR MAKENSAY``, a Portfolio Manager working copy) is skipped when the file
holds the building's own record (same name without the marker, or same address and floor
area), and otherwise kept once under the name without the marker; records with the same
address, floor area and year built are one building (the first is kept). The build reports
each.

Buildings the county owns under a neutral name (the Chinook and Yesler buildings, the
Administration Building) are not identified: the rule reads names, not a deed registry.

What the file lacks is **synthetic**, generated here with a fixed seed and listed in each
asset's ``synthetic_fields`` so that every page labels it: capacity and occupancy (from floor
area per seat by use), operating and maintenance cost ($/ft² by use), replacement value
($/ft² by use), repair needs (replacement value x a condition index growing with age), and the
status (mostly in use; under-used, vacant or surplus follow from the synthetic occupancy).
Published field groups: identity, location, size, status and energy for all (Seattle
publishes benchmarking data anyway), plus utilization and condition where the status invites
proposals; police precincts and the correctional facility publish nothing.

Every surplus asset that publishes its status then gets a public page (:func:`public_pages`),
all of it synthetic and labeled: zoning (a Seattle zone name picked by use), a contact (a
name marked "(demo)", the demo's own e-mail domain and a 555-01xx telephone number), a
proposal deadline 60 days after the demo is built, a site area from its floor area where the
file has none, and a drawing (not a photograph) of a building.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal
from govshare.property.import_export import importer
from govshare.regions import queries as regions_queries

DATA_FILE = "seattle_public_buildings_2016.csv"
SOURCE_LABEL = ("Seattle 2016 Building Energy Benchmarking (City of Seattle OSE, "
                "data.seattle.gov 2bpz-gwpy)")
SEED = 2016

CITY, SCHOOLS, COUNTY, STATE = ("City of Seattle", "Seattle Public Schools", "King County",
                                "State of Washington")
_COUNTY_NAME = re.compile(r"^\s*King Co(unty)?\b|\bKC Metro Transit\b", re.I)
_STATE_NAME = re.compile(r"\bW?S?DSHS\b|\bDept of Social & Health Services\b|"
                         r"\bWashington State Ferries\b", re.I)


def owner_of(building_type: str, name: str) -> str | None:
    """The demo member that owns a benchmarked building, or None (see the module docstring)."""
    kind = building_type.strip()
    if kind == "Nonresidential COS":
        return CITY
    if kind == "SPS-District K-12":
        return SCHOOLS
    if kind == "Nonresidential WA" or _STATE_NAME.search(name):
        return STATE
    if _COUNTY_NAME.search(name):
        return COUNTY
    return None


# Synthetic assumptions by use: floor area per seat (ft²), O&M ($/ft²/yr), replacement ($/ft²).
SEAT_FT2 = {"office": 200, "school": 110, "library": 100, "community_center": 60,
            "fire_station": 900, "police_station": 300, "courthouse": 250, "warehouse": 2000,
            "garage_maintenance": 1500, "other": 250}
OM_PER_FT2 = {"office": 5.5, "school": 4.5, "library": 5.0, "community_center": 6.0,
              "fire_station": 6.5, "police_station": 6.0, "courthouse": 7.0, "warehouse": 2.0,
              "garage_maintenance": 3.5, "other": 4.5}
REPLACEMENT_PER_FT2 = {"office": 420, "school": 380, "library": 480, "community_center": 400,
                       "fire_station": 600, "police_station": 550, "courthouse": 650,
                       "warehouse": 180, "garage_maintenance": 300, "other": 400}
SYNTHETIC = ["capacity", "occupancy", "annual_om_cost_cents", "repair_needs_cents",
             "replacement_value_cents", "status"]
PRIVATE_NAMES = re.compile(r"correctional|precinct", re.I)
SPECIAL_PURPOSE = re.compile(r"\bjustice center\b|\bsystem operations center\b|"
                             r"\bhealth center\b|\bcorrectional\b", re.I)
_COPY_MARK = re.compile(r"\s*[-\u2013(]*\s*\bcopy\b(\s+(for|of)\b[^)]*)?\)?\s*$", re.I)


def without_copy_mark(name: str) -> str | None:
    """The name without a trailing copy marker (" - COPY FOR X", " (copy)"), or None when
    the name has none."""
    cleaned = _COPY_MARK.sub("", name)
    return cleaned.strip() if cleaned != name and cleaned.strip() else None


def _place(row: dict[str, str]) -> tuple[str, str]:
    """A building's address and floor area, normalized for comparison."""
    return (re.sub(r"[^a-z0-9]", "", row.get("Address", "").casefold()),
            re.sub(r"[^0-9.]", "", row.get("PropertyGFATotal", "")))


def dedupe(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[str]]:
    """The rows with duplicate records of one building merged (see the module docstring),
    and a sentence for each record skipped or renamed."""
    names = {r["PropertyName"].strip().casefold() for r in rows}
    kept: list[dict[str, str]] = []
    report: list[str] = []
    seen: dict[tuple[str, str, str], str] = {}
    for row in rows:
        name = row["PropertyName"]
        base = without_copy_mark(name)
        place = _place(row)
        key = (*place, row.get("YearBuilt", "").strip())
        if base is not None:
            twin = seen.get(key)
            if base.casefold() in names or twin is not None:
                report.append(f"skipped {name!r}: a copy of the record of "
                              f"{(twin or base)!r}, not a building of its own")
                continue
            report.append(f"renamed {name!r} to {base!r}: a record marked as a copy, and "
                          "the only record of its building in the file")
            row = {**row, "PropertyName": base}
        elif place[0] and place[1] and key in seen:
            report.append(f"skipped {name!r}: the same address, floor area and year built as "
                          f"{seen[key]!r} (one building)")
            continue
        seen.setdefault(key, row["PropertyName"])
        kept.append(row)
    return kept, report


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def synthetic_values(row: dict[str, str], use: str, rnd: random.Random) -> dict[str, Any]:
    """Seeded stand-ins for what the benchmarking file does not have."""
    gfa = _number(row.get("PropertyGFATotal", "")) or 10_000.0
    year = _number(row.get("YearBuilt", "")) or 1970.0
    key = use if use in SEAT_FT2 else "other"
    capacity = max(1, round(gfa / SEAT_FT2[key]))
    draw = rnd.random()
    if draw < 0.80:
        status, share = "in_use", rnd.uniform(0.65, 1.0)
    elif draw < 0.92:
        status, share = "under_used", rnd.uniform(0.2, 0.5)
    elif draw < 0.97:
        status, share = "vacant", 0.0
    else:
        status, share = "surplus", rnd.uniform(0.0, 0.15)
    replacement = gfa * REPLACEMENT_PER_FT2[key] * rnd.uniform(0.85, 1.15)
    age = max(0.0, 2016 - year)
    condition = min(0.6, 0.01 + 0.004 * age * rnd.uniform(0.6, 1.4))
    groups = ["identity", "location", "size", "status", "energy"]
    if status != "in_use":
        groups += ["utilization", "condition"]
    if use == "police_station" or PRIVATE_NAMES.search(row.get("PropertyName", "")):
        groups = ["none"]
    return {
        "capacity": capacity,
        "occupancy": round(capacity * share),
        "annual_om_cost_cents": round(gfa * OM_PER_FT2[key] * rnd.uniform(0.8, 1.2) * 100),
        "replacement_value_cents": round(replacement * 100),
        "repair_needs_cents": round(replacement * condition * 100),
        "status": status,
        "public_groups": ";".join(groups),
        "synthetic_fields": ";".join(SYNTHETIC),
        "interchangeable": ("no" if use == "other"
                            or SPECIAL_PURPOSE.search(row.get("PropertyName", "")) else "yes"),
    }


def demo_rows() -> tuple[list[str], list[dict[str, str]]]:
    text = resources.files("govshare.property").joinpath("data", DATA_FILE).read_text(
        encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def build(*, session: Session, actor: Principal, region_id: int,
          step: Callable[[str], None], notes: list[str] | None = None
          ) -> dict[str, importer.ImportResult]:
    """Import each member's buildings (one import, one audit row, per member). ``notes``
    receives a sentence for each duplicate record merged (see :func:`dedupe`)."""
    from govshare.property.import_export.presets import seattle_use

    columns, rows = demo_rows()
    members = {j.name: j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                         region_id=region_id)}
    rnd = random.Random(SEED)
    extra = ["capacity", "occupancy", "annual_om_cost_cents", "replacement_value_cents",
             "repair_needs_cents", "status", "public_groups", "synthetic_fields",
             "interchangeable"]
    rows, merged = dedupe(rows)
    for sentence in merged:
        step(f"duplicate records: {sentence}")
        if notes is not None:
            notes.append(f"Buildings file, duplicate records: {sentence}")
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        owner = owner_of(row["BuildingType"], row["PropertyName"])
        if owner is None or owner not in members:
            continue
        use = seattle_use([row.get("LargestPropertyUseType", ""),
                           row.get("PrimaryPropertyType", ""), row["PropertyName"]])
        by_owner.setdefault(owner, []).append({**row, **synthetic_values(row, use, rnd)})
    results = {}
    for owner, owned in by_owner.items():
        step(f"{owner}: {len(owned)} buildings")
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[*columns, *extra], lineterminator="\n")
        writer.writeheader()
        writer.writerows(owned)
        results[owner] = importer.import_assets(
            session=session, actor=actor, jurisdiction_id=members[owner],
            source=io.BytesIO(buf.getvalue().encode("utf-8")), fmt="csv",
            preset="seattle-benchmarking", file_name=DATA_FILE, source_label=SOURCE_LABEL)
    return results


# ------------------------------------------------------------------ public asset pages

# Zoning of the demo's surplus properties: Seattle's zone names (SMC 23.30), picked by use.
# Synthetic: the benchmarking file has no zoning, and no parcel lookup is made.
DEMO_ZONING = {"office": "DMC 240/290-440 Downtown Mixed Commercial",
               "warehouse": "IG2 U/85 General Industrial 2",
               "garage_maintenance": "IG1 U/85 General Industrial 1",
               "school": "NR3 Neighborhood Residential 3",
               "library": "NC3-55 Neighborhood Commercial 3",
               "community_center": "NC2-55 Neighborhood Commercial 2"}
DEMO_CONTACTS = (("Jordan Rivera (demo)", "206-555-0142"),
                 ("Morgan Lee (demo)", "206-555-0187"),
                 ("Casey Nguyen (demo)", "206-555-0123"))
DEMO_CONTACT_EMAIL = "surplus.property@demo.govshare.org"
DEMO_DEADLINE_DAYS = 60  # the demo's deadlines fall this many days after it is built
DEMO_FLOOR_AREA_RATIO = 1.5  # floor area / site area, for a made-up site area
PUBLIC_PAGE_FIELDS = ["land_area_acres", "zoning", "contact_name", "contact_email",
                      "contact_phone", "proposal_deadline"]


def demo_photo(name: str, seed: int) -> bytes:
    """A drawing (not a photograph) of a building, for the demo's public pages: sky, a block
    with rows of windows, the street. PNG."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    width, height = 800, 500
    image = Image.new("RGB", (width, height), (173, 206, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 400, width, height), fill=(90, 90, 90))
    left, top = rnd.randint(120, 220), rnd.randint(80, 180)
    right = width - rnd.randint(120, 220)
    shade = rnd.randint(150, 200)
    draw.rectangle((left, top, right, 400), fill=(shade, shade - 30, shade - 60),
                   outline=(60, 60, 60), width=3)
    for y in range(top + 20, 380, 45):
        for x in range(left + 20, right - 30, 50):
            draw.rectangle((x, y, x + 28, y + 25), fill=(230, 240, 250), outline=(60, 60, 60))
    draw.text((20, 20), f"Drawing for the demo, not a photo: {name}"[:90], fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def public_pages(*, session: Session, actor: Principal, region_id: int,
                 step: Callable[[str], None]) -> int:
    """Fill the public page of every surplus asset that publishes its status: a site area
    (if the file has none), zoning, a contact, a proposal deadline and a drawing, all
    synthetic (named in ``synthetic_fields``, the photo marked synthetic), and publish the
    ``zoning``, ``contact`` and ``photos`` groups. Returns the number of assets."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from govshare.property import service
    from govshare.property.models import Asset, AssetStatus
    from govshare.property.schemas import AssetIn, PhotoIn

    region = regions_queries.require_current_region(session=session)
    today = datetime.now(ZoneInfo(region.time_zone)).date()
    members = [j.id for j in regions_queries.list_jurisdictions(session=session,
                                                                region_id=region_id)]
    assets = session.scalars(select(Asset).where(
        Asset.jurisdiction_id.in_(members), Asset.status == AssetStatus.surplus.value)
        .order_by(Asset.jurisdiction_id, Asset.asset_code)).all()
    n = 0
    for i, asset in enumerate(assets):
        if "status" not in (asset.public_groups or []):
            continue
        values = {f: getattr(asset, f) for f in AssetIn.model_fields}
        contact_name, phone = DEMO_CONTACTS[i % len(DEMO_CONTACTS)]
        made = ["zoning", "contact_name", "contact_email", "contact_phone",
                "proposal_deadline"]
        if values["land_area_acres"] is None and values["gross_floor_area_ft2"]:
            values["land_area_acres"] = round(
                values["gross_floor_area_ft2"] / DEMO_FLOOR_AREA_RATIO / 43_560, 2)
            made.append("land_area_acres")
        values.update(
            zoning=DEMO_ZONING.get(asset.use, "C1-65 Commercial 1"), contact_name=contact_name,
            contact_email=DEMO_CONTACT_EMAIL, contact_phone=phone,
            proposal_deadline=today + timedelta(days=DEMO_DEADLINE_DAYS),
            public_groups=[*values["public_groups"], "zoning", "contact", "photos"],
            # in field order, as a file gives them back (a round trip changes nothing)
            synthetic_fields=[f for f in AssetIn.model_fields
                              if f in {*values["synthetic_fields"], *made}])
        service.update_asset(session=session, actor=actor, asset_id=asset.id,
                             data=AssetIn(**values))
        service.add_photo(session=session, actor=actor, asset_id=asset.id,
                          content=demo_photo(asset.name, asset.id),
                          data=PhotoIn(alt_text=f"A drawing standing in for {asset.name}: "
                                       "made for the demonstration, it does not show the "
                                       "property"),
                          synthetic=True)
        n += 1
    step(f"public pages of {n} surplus assets (synthetic zoning, contact, deadline, drawing)")
    return n
