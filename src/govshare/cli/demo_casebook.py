"""Sample casebook proposals for the demo region, every one labeled sample (synthetic
figures): a shared payroll among four members (adopted, with two years of actual costs that
fall short of the projection, as New York's certified savings did), a scenario of it at a
lower rate, and the registry's office consolidation made a proposal (adopted)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from govshare.casebook import service
from govshare.casebook.models import CaseStatus
from govshare.casebook.schemas import ActualIn, FromConsolidationIn, ProposalIn
from govshare.core.tenancy import Principal

START = 2026
NOTE = "sample: synthetic figures made for the demo"


def build(session: Session, actor: Principal, region_id: int, ids: dict[str, int],
          step: Callable[[str], None]) -> None:
    step("sample casebook proposals")
    payroll = service.create_proposal(
        session=session, actor=actor, region_id=region_id, synthetic=True,
        source_note=NOTE,
        data=ProposalIn(
            name="Shared payroll and HR system (sample)", service="payroll",
            description="One payroll system and team for four members (synthetic figures).",
            start_year=START, horizon_years=10, ramp_pct=[40, 70, 90],
            one_time=[1_200_000, 300_000], shared_annual=2_100_000, basis="blend",
            blend={"headcount": 54, "population": 23, "usage": 23},
            members=[
                {"jurisdiction_id": ids["city"], "ftes": 14, "staff": 1_540_000,
                 "systems": 420_000, "space": 90_000, "headcount": 12_000, "usage": 288_000,
                 "population": 744_955, "note": NOTE},
                {"jurisdiction_id": ids["county"], "ftes": 11, "staff": 1_210_000,
                 "systems": 380_000, "space": 60_000, "headcount": 9_000, "usage": 216_000,
                 "note": NOTE},
                {"jurisdiction_id": ids["schools"], "ftes": 6, "staff": 640_000,
                 "systems": 150_000, "headcount": 7_000, "usage": 168_000,
                 "population": 55_000, "note": NOTE},
                {"jurisdiction_id": ids["port"], "ftes": 2, "staff": 180_000,
                 "contracts": 40_000, "headcount": 1_900, "usage": 45_600,
                 "population": 2_300_000, "direct": 30_000, "note": NOTE},
            ]))
    service.set_status(session=session, actor=actor, proposal_id=payroll.id,
                       status=CaseStatus.adopted)
    for year, actuals in ((START, (2_180_000, 1_700_000, 850_000, 260_000)),
                          (START + 1, (1_880_000, 1_510_000, 760_000, 255_000))):
        for key, actual in zip(("city", "county", "schools", "port"), actuals, strict=True):
            service.record_actual(session=session, actor=actor, proposal_id=payroll.id,
                                  data=ActualIn(jurisdiction_id=ids[key], year=year,
                                                actual=actual),
                                  source="sample: synthetic actual cost")
    service.add_scenario(session=session, actor=actor, proposal_id=payroll.id,
                         name="Shared payroll at a 3% real rate (sample)",
                         changes={"discount_rate": 0.03,
                                  "discount_source": "sample scenario: a lower real rate"})
    offices = service.from_consolidation(
        session=session, actor=actor, region_id=region_id, synthetic=True,
        name="Consolidate office buildings (sample)",
        data=FromConsolidationIn(use="office", start_year=START, horizon_years=15,
                                 one_time=250_000))
    service.set_status(session=session, actor=actor, proposal_id=offices.id,
                       status=CaseStatus.adopted)
