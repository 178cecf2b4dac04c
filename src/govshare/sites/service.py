"""Sites, the writes: a region's center scenarios, the candidate data users upload for them,
the site the region chose, and the two reference scenarios that ship with the product.

Invariants:
- Scenarios are the region's (regional admins and analysts manage them; every staff member
  reads them). Another region's scenario id is 404.
- A scenario is checked against the county data when it is saved: an unknown county code,
  a state with no county, or constraints that leave no candidate are refused naming the
  field, and nothing is written.
- An upload replaces the scenario's candidate data whole or not at all: every row's
  problems (unknown or repeated county code, a value that is not a number or out of its
  range) are reported together (``core.tabular``'s one report), and the same file gives the
  same data however often it is sent.
- Every write is audited in its transaction.
"""

from __future__ import annotations

from typing import IO, Any, BinaryIO, cast

from sqlalchemy.orm import Session

from govshare.core import audit
from govshare.core import tabular as t
from govshare.core.db import utcnow
from govshare.core.errors import Conflict, ValidationFailed
from govshare.core.tenancy import Action, Principal, authorize
from govshare.sites import calc, queries
from govshare.sites.models import SiteScenario
from govshare.sites.schemas import CandidateRow, ScenarioIn

MAX_UPLOAD_ROWS = 10_000
MAX_UPLOAD_BYTES = 8 << 20  # 3,142 counties x every figure is under 1 MB

LAYOUT = t.Layout(fields=tuple(CandidateRow.model_fields),
                  converters=t.model_converters(CandidateRow), required=frozenset({"fips"}))
PRESET = t.Preset(
    name="sites", label="County candidate data",
    description="A fips column (5-digit county code) and any county figure to replace, "
                "e.g. rent_usd_ft2, weekly_wage_2022, labor_force_2018.",
    layout=LAYOUT,
    columns={"fips": ("FIPS", "county_fips", "GEOID", "county code"),
             "rent_usd_ft2": ("rent", "rent per ft2", "office rent")},
    required=("fips",))


def _check(data: ScenarioIn) -> None:
    """Refuse what the county data cannot compute (naming the field), writing nothing."""
    queries.check(data)


def create_scenario(*, session: Session, actor: Principal, region_id: int, data: ScenarioIn,
                    sample: bool = False) -> SiteScenario:
    authorize(actor, Action.sites_manage, region_id=region_id)
    if session.query(SiteScenario).filter_by(region_id=region_id, name=data.name).first():
        raise Conflict(f"A scenario named {data.name!r} exists already")
    _check(data)
    now = utcnow()
    row = SiteScenario(region_id=region_id, name=data.name, description=data.description,
                       params=data.model_dump(mode="json", exclude={"name", "description"}),
                       overrides={}, sample=sample, created_by=actor.ref, created_at=now,
                       updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, action="sites.scenario.create", entity="sites_scenario",
                 entity_id=row.id, after={"name": row.name, **row.params})
    return row


def update_scenario(*, session: Session, actor: Principal, region_id: int, scenario_id: int,
                    data: ScenarioIn) -> SiteScenario:
    authorize(actor, Action.sites_manage, region_id=region_id)
    row = queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    other = session.query(SiteScenario).filter_by(region_id=region_id, name=data.name).first()
    if other is not None and other.id != row.id:
        raise Conflict(f"A scenario named {data.name!r} exists already")
    _check(data)
    before = {"name": row.name, **row.params}
    row.name, row.description = data.name, data.description
    row.params = data.model_dump(mode="json", exclude={"name", "description"})
    row.updated_at = utcnow()
    audit.record(session, actor, action="sites.scenario.update", entity="sites_scenario",
                 entity_id=row.id, before=before, after={"name": row.name, **row.params})
    return row


def delete_scenario(*, session: Session, actor: Principal, region_id: int,
                    scenario_id: int) -> None:
    authorize(actor, Action.sites_manage, region_id=region_id)
    row = queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    audit.record(session, actor, action="sites.scenario.delete", entity="sites_scenario",
                 entity_id=row.id, before={"name": row.name})
    session.delete(row)


def choose_site(*, session: Session, actor: Principal, region_id: int, scenario_id: int,
                fips: str | None) -> SiteScenario:
    """Record the candidate the region chose (it feeds the value case); None clears it."""
    authorize(actor, Action.sites_manage, region_id=region_id)
    row = queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    if fips is not None:
        ev = queries.evaluate_row(row)
        if fips not in set(ev.result.counties.fips.tolist()):
            raise ValidationFailed(f"{fips} is not an eligible candidate of this scenario",
                                   errors=[{"loc": ["fips"], "msg": "not a candidate"}])
    before = row.chosen_fips
    row.chosen_fips = fips
    row.updated_at = utcnow()
    audit.record(session, actor, action="sites.scenario.choose", entity="sites_scenario",
                 entity_id=row.id, before={"chosen_fips": before}, after={"chosen_fips": fips})
    return row


def chosen_result(*, session: Session, region_id: int, scenario_id: int
                  ) -> dict[str, Any] | None:
    """The chosen site's figures, for the value case: annual savings (budget) and the
    development benefit (social), reported apart. None when nothing is chosen."""
    row = queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    if row.chosen_fips is None:
        return None
    ev = queries.evaluate_row(row)
    found = [r for r in queries.candidate_rows(ev) if r["fips"] == row.chosen_fips]
    return found[0] if found else None


# ----------------------------------------------------------------------------- the upload


def read_candidates(stream: IO[bytes], name: str) -> dict[str, dict[str, float]]:
    """The candidate data of a CSV or XLSX file, ``{fips: {field: value}}``, or
    :class:`core.tabular.Refused` with every problem of every row (nothing is kept)."""
    head = stream.read(8192)
    stream.seek(0)
    report = t.ErrorReport()
    try:
        fmt = t.detect_format(name, head)
        table = t.open_table(cast(BinaryIO, stream), fmt)
    except t.FileRefused as exc:
        report.add(exc.error)
        raise t.Refused(f"{name} cannot be read: {exc.error.reason}", report=report) from None
    if fmt == "geojson":
        report.add(t.RowError(None, "", "", "send a CSV or XLSX file"))
        raise t.Refused(f"{name}: candidate data comes as CSV or XLSX", report=report)
    plan = t.make_plan(table.columns, PRESET, fmt)
    for e in plan.header_errors:
        report.add(e)
    known = queries.counties().index()
    out: dict[str, dict[str, float]] = {}
    first_row: dict[str, int] = {}
    rows = 0
    for number, cells, problems in table.rows:
        if cells is None:
            for e in problems:
                report.add(e)
            continue
        rows += 1
        if rows > MAX_UPLOAD_ROWS:
            report.add(t.RowError(number, "", "", f"more than {MAX_UPLOAD_ROWS:,} rows: "
                                                  "a county appears once"))
            break
        values, errors = plan.validate(number, cells)
        if plan.ignored_at:
            plan.tally(cells)
        for e in problems + errors:
            report.add(e)
        fips = values.get("fips")
        if not isinstance(fips, str) or errors and "fips" not in values:
            continue
        if fips not in known:
            report.add(t.RowError(number, plan.column_of.get("fips", "fips"), fips,
                                  "no county has this code (5-digit FIPS, 2018 counties)"))
            continue
        if fips in first_row:
            report.add(t.RowError(number, plan.column_of.get("fips", "fips"), fips,
                                  f"this county is given already on row {first_row[fips]}"))
            continue
        first_row[fips] = number
        given = {k: float(v) for k, v in values.items() if k != "fips" and v is not None}
        if not given and not errors:
            report.add(t.RowError(number, "", "", "the row gives no figure for the county"))
            continue
        out[fips] = given
    if rows == 0 and not report.count:
        report.add(t.RowError(None, "", "", "the file has no rows"))
    if report.count:
        raise t.Refused(f"{report.count:,} problems in {name}; nothing was changed",
                        report=report)
    unplaced = [c for c, n in plan.unplaced if n]
    if unplaced:
        report.close()
        report = t.ErrorReport()
        for c in unplaced:
            report.add(t.RowError(1, c, "", "no county figure has this name: "
                                           f"use one of {', '.join(calc.UPLOAD_FIELDS)}"))
        raise t.Refused(f"{name} has columns govshare cannot place; nothing was changed",
                        report=report)
    report.close()
    return out


def upload_candidates(*, session: Session, actor: Principal, region_id: int,
                      scenario_id: int, stream: IO[bytes], name: str) -> SiteScenario:
    """Replace the scenario's candidate data with the file's (all or nothing)."""
    authorize(actor, Action.sites_manage, region_id=region_id)
    row = queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    data = read_candidates(stream, name)
    before = {"file": row.overrides_file, "counties": len(row.overrides or {})}
    row.overrides = data
    row.overrides_file = name[:200]
    row.overrides_at = utcnow()
    row.updated_at = row.overrides_at
    audit.record(session, actor, action="sites.candidates.upload", entity="sites_scenario",
                 entity_id=row.id, before=before,
                 after={"file": row.overrides_file, "counties": len(data)})
    return row


def clear_candidates(*, session: Session, actor: Principal, region_id: int,
                     scenario_id: int) -> SiteScenario:
    authorize(actor, Action.sites_manage, region_id=region_id)
    row = queries.get_scenario(session=session, region_id=region_id, scenario_id=scenario_id)
    audit.record(session, actor, action="sites.candidates.clear", entity="sites_scenario",
                 entity_id=row.id, before={"file": row.overrides_file,
                                           "counties": len(row.overrides or {})})
    row.overrides, row.overrides_file, row.overrides_at = {}, None, None
    row.updated_at = utcnow()
    return row


# ------------------------------------------------------------------ the reference scenarios

ILLUSTRATIVE = ("Salaries, rent, other cost, one-time cost and multipliers are illustrative "
                "inputs for the comparison, not official figures; the county data are the "
                "published ones.")

REFERENCE_SCENARIOS: tuple[dict[str, Any], ...] = (
    {
        "name": "Reference: Minnesota shared-services center (200 jobs)",
        "description": "A 200-person shared-services center (finance, HR and IT support). "
                       "Baseline Hennepin County (Minneapolis); candidates all 87 Minnesota "
                       "counties. How do the Iron Range counties (St. Louis, Itasca) compare "
                       "on cost and distress? " + ILLUSTRATIVE,
        "roles": [{"name": "Finance and HR specialists", "headcount": 120,
                   "salary_usd": 62_000},
                  {"name": "IT support", "headcount": 50, "salary_usd": 70_000},
                  {"name": "Supervisors", "headcount": 20, "salary_usd": 88_000},
                  {"name": "Managers", "headcount": 10, "salary_usd": 120_000}],
        "baseline_fips": "27053", "ft2_per_person": 175, "rent_baseline_usd_ft2": 30,
        "other_usd_per_person": 6_000, "one_time_usd": 4_000_000,
        "multiplier_low": 1.3, "multiplier_high": 1.8,
        "multiplier_source": "illustrative range for office services, not RIMS II tables",
        "candidates": {"kind": "state", "states": ["MN"]},
        "spotlight": ["27137", "27061"],
        "min_labor_force_multiple": 10,
    },
    {
        "name": "Reference: Virginia IT and help-desk center (433 jobs)",
        "description": "A 433-person IT and help-desk center. Baseline Chesterfield County; "
                       "candidates all Virginia counties and independent cities (Russell "
                       "County among them). " + ILLUSTRATIVE,
        "roles": [{"name": "Help-desk analysts", "headcount": 300, "salary_usd": 52_000},
                  {"name": "IT specialists", "headcount": 100, "salary_usd": 78_000},
                  {"name": "Supervisors and managers", "headcount": 33,
                   "salary_usd": 105_000}],
        "baseline_fips": "51041", "ft2_per_person": 150, "rent_baseline_usd_ft2": 24,
        "other_usd_per_person": 5_000, "one_time_usd": 6_000_000,
        "multiplier_low": 1.3, "multiplier_high": 1.8,
        "multiplier_source": "illustrative range for office services, not RIMS II tables",
        "candidates": {"kind": "state", "states": ["VA"]},
        "spotlight": ["51167"],
        "min_labor_force_multiple": 10,
    },
)


def ensure_reference_scenarios(*, session: Session, actor: Principal, region_id: int
                               ) -> list[SiteScenario]:
    """The two reference scenarios in this region (made once; marked sample)."""
    out = []
    for spec in REFERENCE_SCENARIOS:
        existing = session.query(SiteScenario).filter_by(region_id=region_id,
                                                         name=spec["name"]).first()
        out.append(existing or create_scenario(
            session=session, actor=actor, region_id=region_id,
            data=ScenarioIn.model_validate(spec), sample=True))
    return out
