"""The demo region "Seattle - King County, WA", used by every later feature.

Members: State of Washington (53), King County (53033), both with Census boundaries; City of
Seattle (its published city limits); Seattle Public Schools (the district's area is the city's
— no district boundary file is at hand); Port of Seattle (a county-wide special district, so
King County's boundary). Staff users for each role; their logins are printed.

Idempotent: a second run finds the region and only prints the logins. Demo accounts share a
published password, so `govshare demo` refuses to run in production.
"""

from __future__ import annotations

import json
from importlib import resources

from govshare.cli import (
    demo_carbon,
    demo_casebook,
    demo_fleet,
    demo_frontoffice,
    demo_property,
    demo_sites,
    demo_tellusonce,
)
from govshare.core import migrate
from govshare.core.cli_support import console, db, progress
from govshare.core.db import make_engine
from govshare.core.errors import Forbidden
from govshare.core.settings import Environment, Settings
from govshare.core.tenancy import Role, system_principal
from govshare.geo import service as geo_service
from govshare.regions import queries as regions_queries
from govshare.regions import service as regions_service
from govshare.regions.schemas import JurisdictionCreate, JurisdictionKind, UserCreate

REGION_NAME = "Seattle - King County, WA"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - published on purpose; demo only
SEATTLE_SOURCE = ("City of Seattle city limits (seattleio/seattle-boundaries-data, "
                  "committed 2015-08-18)")

# (email, full name, role, jurisdiction name or None)
DEMO_USERS = [
    ("admin@demo.govshare.org", "Rae Regional (demo)", Role.regional_admin, None),
    ("analyst@demo.govshare.org", "Ana Analyst (demo)", Role.regional_analyst, None),
    ("seattle.admin@demo.govshare.org", "Sam Seattle (demo)", Role.jurisdiction_admin,
     "City of Seattle"),
    ("seattle.staff@demo.govshare.org", "Sky Staff (demo)", Role.jurisdiction_staff,
     "City of Seattle"),
    ("kingcounty.admin@demo.govshare.org", "Kim County (demo)", Role.jurisdiction_admin,
     "King County"),
    ("schools.staff@demo.govshare.org", "Pat Schools (demo)", Role.jurisdiction_staff,
     "Seattle Public Schools"),
]


def build(settings: Settings, *, quiet: bool = False) -> bool:
    """Build the demo region if missing. Returns True if it was built now."""
    if settings.env is Environment.production:
        raise Forbidden("The demo region has published passwords; it is not built in production")
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    built = False
    notes: list[str] = []
    with db() as session, progress() as step:
        if regions_queries.current_region(session=session) is None:
            _build(session, settings, step, notes)
            built = True
    if not quiet:
        for note in notes:
            console.print(note, highlight=False, markup=False)
        print_logins(built)
    return built


def _build(session, settings: Settings, step,  # type: ignore[no-untyped-def]
           notes: list[str] | None = None) -> None:
    """Build the demo region; ``notes`` receives what the build decided about its data
    (duplicate records merged) for the command to print."""
    actor = system_principal("demo")
    result = geo_service.create_region_from_census(
        session=session, actor=actor, name=REGION_NAME, states=["53"], counties=["53033"],
        atlas_dir=settings.resolved_us_atlas_dir, progress=step)
    ids = {name: jid for jid, name in result.created}
    state_id, county_id = ids["State of Washington"], ids["King County"]

    def add(name: str, kind: JurisdictionKind, parent: int) -> int:
        return regions_service.add_jurisdiction(
            session=session, actor=actor, region_id=result.region_id,
            data=JurisdictionCreate(name=name, kind=kind, parent_id=parent)).id

    step("City of Seattle")
    seattle_id = add("City of Seattle", JurisdictionKind.city, county_id)
    limits = json.loads(resources.files("govshare.geo").joinpath(
        "data/seattle_city_limits.geojson").read_text())
    geo_service.set_boundary(session=session, actor=actor, jurisdiction_id=seattle_id,
                             geojson=limits, source=SEATTLE_SOURCE, repair=True)
    step("Seattle Public Schools")
    sps_id = add("Seattle Public Schools", JurisdictionKind.school_district, state_id)
    geo_service.copy_boundary(session=session, actor=actor, from_jurisdiction_id=seattle_id,
                              to_jurisdiction_id=sps_id,
                              note="District area taken as the city limits")
    step("Port of Seattle")
    port_id = add("Port of Seattle", JurisdictionKind.special_district, county_id)
    geo_service.copy_boundary(session=session, actor=actor, from_jurisdiction_id=county_id,
                              to_jurisdiction_id=port_id,
                              note="County-wide port district: King County's boundary")
    names = {"City of Seattle": seattle_id, "King County": county_id,
             "Seattle Public Schools": sps_id}
    for email, full_name, role, jname in DEMO_USERS:
        step(f"user {email}")
        regions_service.create_user(
            session=session, actor=actor, region_id=result.region_id,
            data=UserCreate(email=email, full_name=full_name, password=DEMO_PASSWORD, role=role,
                            jurisdiction_id=names[jname] if jname else None))
    step("address points")
    load_address_points(session, actor, result.region_id)
    demo_property.build(session=session, actor=actor, region_id=result.region_id, step=step,
                        notes=notes)
    demo_property.public_pages(session=session, actor=actor, region_id=result.region_id,
                               step=step)
    demo_fleet.build(session=session, actor=actor, region_id=result.region_id, step=step)
    step("sample service catalog")
    demo_frontoffice.build(session, actor, result.region_id,
                           {"state": state_id, "county": county_id, "city": seattle_id,
                            "schools": sps_id, "port": port_id})
    step("synthetic service requests")
    demo_frontoffice.build_requests(session, actor, result.region_id)
    demo_tellusonce.build(session, actor, result.region_id, settings)
    demo_carbon.build(session=session, actor=actor, step=step,
                      members={"City of Seattle": seattle_id, "King County": county_id,
                               "Seattle Public Schools": sps_id, "State of Washington": state_id,
                               "Port of Seattle": port_id})
    demo_sites.build(session, actor, result.region_id, step)
    demo_casebook.build(session, actor, result.region_id,
                        {"city": seattle_id, "county": county_id, "schools": sps_id,
                         "port": port_id}, step)


# The demo's address points (geo/data/SOURCES.md), each file under its own source label.
ADDRESS_POINT_FILES = [
    ("address_points_seattle_benchmarking_2016.csv",
     "Seattle 2016 building energy benchmarking: building addresses (City of Seattle OSE)"),
    ("address_points_seattle_benchmarking_2015.csv",
     "Seattle 2015 building energy benchmarking: building addresses (City of Seattle OSE)"),
    ("address_points_sps_school_sites_2015_2016.geojson",
     "Seattle Public Schools school sites 2015-16 (seattleio/seattle-boundaries-data)"),
]


def load_address_points(session, actor, region_id: int) -> None:  # type: ignore[no-untyped-def]
    for name, source in ADDRESS_POINT_FILES:
        with resources.files("govshare.geo").joinpath(f"data/{name}").open("rb") as fh:
            geo_service.import_address_points(session=session, actor=actor,
                                              region_id=region_id, stream=fh, filename=name,
                                              source=source)


def print_logins(built: bool) -> None:
    console.print(f"Demo region {REGION_NAME!r} " + ("built." if built else "already built."))
    console.print("Demo logins (synthetic demo accounts), all with password "
                  f"[bold]{DEMO_PASSWORD}[/bold]:")
    for email, _name, role, jname in DEMO_USERS:
        console.print(f"  {email:<38} {role.label}" + (f" — {jname}" if jname else ""),
                      highlight=False)
