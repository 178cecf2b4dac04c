"""Sample center scenarios for the demo region (marked ``sample``, labeled on every page).

One for the demo region itself — a 150-person shared-services center of its members,
baseline King County, candidates every Washington county — and the two reference scenarios
that ship with the product (Minnesota, Virginia; ``sites.service.REFERENCE_SCENARIOS``).
Salaries, rent and costs are illustrative inputs; the county figures are the published ones.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from govshare.core.tenancy import Principal
from govshare.sites import service
from govshare.sites.schemas import ScenarioIn

DEMO_SCENARIO = {
    "name": "Sample: Puget Sound shared-services center (150 jobs)",
    "description": "SAMPLE for the demo region: the members' payroll, HR and IT help desk in "
                   "one 150-person center. Baseline King County; candidates every Washington "
                   "county. " + service.ILLUSTRATIVE,
    "roles": [{"name": "Payroll and HR specialists", "headcount": 90, "salary_usd": 68_000},
              {"name": "IT help desk", "headcount": 45, "salary_usd": 72_000},
              {"name": "Supervisors", "headcount": 15, "salary_usd": 98_000}],
    "baseline_fips": "53033", "ft2_per_person": 175, "rent_baseline_usd_ft2": 38,
    "other_usd_per_person": 6_000, "one_time_usd": 3_000_000,
    "multiplier_low": 1.3, "multiplier_high": 1.8,
    "multiplier_source": "illustrative range for office services, not RIMS II tables",
    "candidates": {"kind": "state", "states": ["WA"]},
    "min_labor_force_multiple": 10, "max_km_to_hq": 400,
    "spotlight": ["53077", "53041"],  # Yakima, Lewis
}


def build(session: Session, actor: Principal, region_id: int,
          step: Callable[[str], None] = lambda _m: None) -> None:
    step("sample center scenarios")
    service.create_scenario(session=session, actor=actor, region_id=region_id,
                            data=ScenarioIn.model_validate(DEMO_SCENARIO), sample=True)
    service.ensure_reference_scenarios(session=session, actor=actor, region_id=region_id)
