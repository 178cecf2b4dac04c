"""The consolidation plan's option "Keep each building's occupants together" made a
casebook proposal: by the service, the JSON API and the plan page's form; its link carries
the option, its description says it, and a value that is not a yes or a no is refused by
name (tests/property/test_consolidation_together.py has the plan itself)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.casebook import queries as case_queries
from govshare.casebook import service as casebook
from govshare.casebook.schemas import FromConsolidationIn
from govshare.core.tenancy import Role, system_principal
from tests.conftest import csrf_from, login
from tests.property.test_consolidation_together import (
    ADMIN,
    SPLIT_WORDS,
    TOGETHER_WORDS,
    _h,
    _hidden,
    _plan,
    halls,
)


def test_the_casebook_takes_the_option(client: TestClient, session: Session,
                                       ids: dict[str, int]) -> None:
    halls(session, ids)
    system = system_principal("test")
    data = FromConsolidationIn(use="park", max_km=15, start_year=2027, keep_together=True)
    p = casebook.from_consolidation(session=session, actor=system, region_id=1, data=data)
    together = _plan(session, True)
    assert "keep_together=yes" in p.source_link
    assert TOGETHER_WORDS.lower() in (p.description or "")
    assert p.source_params["keep_together"] is True
    r = case_queries.evaluate(p, case_queries.members(session=session, proposal_id=p.id))
    # the plan's savings are its rounded total; the members' are each rounded (a cent or so)
    assert r.total.annual_savings_cents == pytest.approx(together.savings_cents, abs=2)
    by = {m.name: m for m in r.members}
    for pm in together.members:
        assert by[pm.jurisdiction].annual_savings_cents == pm.net_after_charges_cents
    split = casebook.from_consolidation(session=session, actor=system, region_id=1,
                                        data=FromConsolidationIn(use="park", max_km=15,
                                                                 start_year=2027))
    assert "keep_together" not in split.source_link
    assert SPLIT_WORDS.lower() in (split.description or "")
    session.commit()

    url = "/api/v1/casebook/proposals/from-consolidation"
    admin = _h(session, Role.regional_admin)
    bad = client.post(url, headers=admin,
                      json={"use": "park", "start_year": 2027, "keep_together": "maybe"})
    assert bad.status_code == 422
    assert [e["loc"][-1] for e in bad.json()["errors"]] == ["keep_together"]
    made = client.post(url, headers=admin,
                       json={"use": "park", "start_year": 2027, "keep_together": True})
    assert made.status_code == 201, made.text
    assert "keep_together=yes" in made.json()["source_link"]

    # the plan page's "make it a proposal" form
    login(client, ADMIN)
    page = client.get("/property/consolidation",
                      params={"use": "park", "max_km": "15", "keep_together": "yes"})
    form = {**_hidden(page.text, "make-proposal"), "csrf_token": csrf_from(page.text)}
    assert form["keep_together"] == "yes"
    refused = client.post("/casebook/from-consolidation",
                          data={**form, "keep_together": "maybe"}, follow_redirects=False)
    assert refused.status_code in (400, 422) and "keep_together" in refused.text
    r = client.post("/casebook/from-consolidation", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    shown = client.get(r.headers["location"])
    assert "keep_together=yes" in shown.text
