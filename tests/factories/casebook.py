"""Casebook test data: a proposal among demo members with simple round figures."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from govshare.casebook import service
from govshare.casebook.models import CaseProposal
from govshare.casebook.schemas import ProposalIn
from govshare.core.tenancy import system_principal


def proposal_in(ids: dict[str, int], **kw: Any) -> ProposalIn:
    """Payroll shared by city, county and schools: baselines $600k, $300k, $100k a year; the
    shared model costs $700k a year, divided by headcount 60/30/10; $100k one-time in year 1;
    ramp 50% then full; 5 years from 2027 at 7%."""
    values: dict[str, Any] = dict(
        name="Shared payroll", service="payroll", start_year=2027, horizon_years=5,
        discount_rate=0.07, ramp_pct=[50], one_time=[100_000], shared_annual=700_000,
        basis="headcount",
        members=[{"jurisdiction_id": ids["city"], "staff": 500_000, "systems": 100_000,
                  "headcount": 60},
                 {"jurisdiction_id": ids["county"], "staff": 300_000, "headcount": 30},
                 {"jurisdiction_id": ids["schools"], "staff": 100_000, "headcount": 10}])
    values.update(kw)
    return ProposalIn.model_validate(values)


def proposal(session: Session, ids: dict[str, int], **kw: Any) -> CaseProposal:
    return service.create_proposal(session=session, actor=system_principal("test"),
                                   region_id=1, data=proposal_in(ids, **kw))
