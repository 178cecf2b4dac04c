"""One state machine helper (core.states) for every status (issue 8 §3).

Every from/to pair of every machine is walked through the machine and, for the entities a
person moves (service requests, assets, proposals) and the outbox's requeue, through the
service that moves them on both databases: an allowed move is made and recorded, a refused one
answers 409 with a message naming both states and changes nothing. The package is read for
raw status writes: an assignment to ``.status``, an ``UPDATE ... SET status`` without the
machine's guard, ``setattr(row, "status", ...)``.
"""

from __future__ import annotations

import ast
import itertools
import re
from enum import StrEnum
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.core.errors import Conflict
from govshare.core.states import MoveRefused, StateMachine
from govshare.core.tenancy import ANONYMOUS, Role
from govshare.frontoffice import calc as fo_calc
from govshare.frontoffice import service as fo_service
from govshare.frontoffice.models import RequestStatus, ServiceRequest
from govshare.frontoffice.schemas import RequestAction, RequestIn
from govshare.outbox import service as outbox_service
from govshare.outbox.calc import MESSAGES, new_signing_secret
from govshare.outbox.models import MessageStatus
from govshare.property import service as property_service
from govshare.property.models import Asset, AssetStatus, Proposal, ProposalStatus
from govshare.property.schemas import ASSETS, PROPOSALS, ProposalDecision, ProposalIn
from govshare.tellusonce import calc as tellusonce_calc
from tests.conftest import ROOT
from tests.factories.property import asset
from tests.factories.regions import api_key, principal

MACHINES: dict[str, tuple[StateMachine, type[StrEnum] | None]] = {
    "service request": (fo_calc.REQUESTS, RequestStatus), "asset": (ASSETS, AssetStatus),
    "proposal": (PROPOSALS, ProposalStatus), "outbox message": (MESSAGES, MessageStatus),
    "report": (tellusonce_calc.VERIFICATIONS, None)}


def pairs(machine: StateMachine) -> list[tuple[str, str]]:
    return list(itertools.product(machine.states, repeat=2))


# ------------------------------------------------------------------------------ machines


@pytest.mark.parametrize("entity", MACHINES)
def test_each_machine_covers_its_status_enum_and_the_database_check(entity: str) -> None:
    machine, enum = MACHINES[entity]
    assert machine.entity == entity
    if enum is not None:
        assert set(machine.states) == {s.value for s in enum}
    assert all(machine.labels[s] for s in machine.states)


@pytest.mark.parametrize("entity", MACHINES)
def test_every_from_to_pair_is_allowed_or_refused_with_a_clear_409(entity: str) -> None:
    machine, _ = MACHINES[entity]
    for current, to in pairs(machine):
        row = type("Row", (), {machine.attribute: current})()
        if to in machine.moves[current]:
            assert machine.allows(current, to) and current in machine.sources(to)
            assert machine.move(row, to) == current
            assert getattr(row, machine.attribute) == to
        else:
            assert not machine.allows(current, to) and current not in machine.sources(to)
            with pytest.raises(MoveRefused) as refused:
                machine.move(row, to)
            assert refused.value.status == 409 and getattr(row, machine.attribute) == current
            text = refused.value.detail
            assert machine.label(current).lower() in text and machine.label(to).lower() in text
            assert text.startswith(("An " if entity[0] in "ao" else "A ") + f"{entity} that is ")
            assert refused.value.errors[0]["loc"] == [machine.attribute]


def test_a_machine_refuses_moves_to_undeclared_states() -> None:
    with pytest.raises(ValueError, match="unknown"):
        StateMachine.of("thing", labels={"a": "A", "b": "B"}, moves={"a": {"c"}, "b": set()})
    with pytest.raises(ValueError, match="moves are declared"):
        StateMachine.of("thing", labels={"a": "A", "b": "B"}, moves={"a": {"b"}})
    m = StateMachine.of("thing", labels={"a": "A", "b": "B"}, moves={"a": {"b"}, "b": set()})
    assert m.refusal("b", "a") == "A thing that is b cannot become a; that is final."
    assert m.refusal("a", "zzz") == "'zzz' is not a status of a thing"


# ------------------------------------------------------------------------------ services

STAFF = principal(Role.regional_admin)


def _request(session: Session) -> ServiceRequest:
    data = RequestIn(service_code="pothole", lon=-122.3351, lat=47.6080,  # downtown Seattle
                     attributes={"size": ["large"]}, description="State matrix")
    req = fo_service.submit_request(session=session, actor=ANONYMOUS, region_id=1, data=data)
    session.flush()
    return req


def _asset(session: Session, ids: dict[str, int]) -> Asset:
    return asset(session, ids["city"], name="State matrix", status="surplus",
                 public_groups=["identity", "location", "size", "status"])


def _proposal(session: Session, ids: dict[str, int]) -> Proposal:
    data = ProposalIn(name="Cy Citizen", contact_email="cy@example.org",
                      proposed_use="Youth center", description="Evenings and weekends.")
    proposal = property_service.submit_proposal(session=session, actor=ANONYMOUS,
                                                asset_id=_asset(session, ids).id, data=data)
    session.flush()
    return proposal


@pytest.mark.parametrize("pair", pairs(fo_calc.REQUESTS), ids="->".join)
def test_service_requests_move_only_as_declared(session: Session, pair: tuple[str, str]) -> None:
    current, to = pair
    req = _request(session)
    req.status = current  # setting the scene: the test puts the row in the state to move from
    session.flush()
    action = RequestAction(to_status=RequestStatus(to), note="matrix")
    if current == to:
        fo_service.act_on_request(session=session, actor=STAFF, request_id=req.id, action=action)
        assert req.status == current  # no move: a note
    elif fo_calc.REQUESTS.allows(current, to):
        fo_service.act_on_request(session=session, actor=STAFF, request_id=req.id, action=action)
        assert req.status == to
        assert (req.closed_at is not None) == (to in fo_calc.CLOSED_STATES)
    else:
        with pytest.raises(MoveRefused, match="cannot become"):
            fo_service.act_on_request(session=session, actor=STAFF, request_id=req.id,
                                      action=action)
        session.refresh(req)
        assert req.status == current


@pytest.mark.parametrize("pair", pairs(ASSETS), ids="->".join)
def test_assets_move_only_as_declared(session: Session, ids: dict[str, int],
                                      pair: tuple[str, str]) -> None:
    current, to = pair
    row = _asset(session, ids)
    row.status = current  # setting the scene
    session.flush()
    if ASSETS.allows(current, to):
        property_service.transition(session=session, actor=STAFF, asset_id=row.id,
                                    to_status=AssetStatus(to), reason="matrix")
        assert row.status == to
    else:
        with pytest.raises(MoveRefused, match=f"An? asset that is {ASSETS.label(current).lower()}"):
            property_service.transition(session=session, actor=STAFF, asset_id=row.id,
                                        to_status=AssetStatus(to), reason="matrix")
        session.refresh(row)
        assert row.status == current


@pytest.mark.parametrize("pair", pairs(PROPOSALS), ids="->".join)
def test_proposals_move_only_as_declared(session: Session, ids: dict[str, int],
                                         pair: tuple[str, str]) -> None:
    current, to = pair
    proposal = _proposal(session, ids)
    proposal.status = current  # setting the scene
    session.flush()
    decision = ProposalDecision(to_status=ProposalStatus(to), public_reason="Matrix reason",
                                note="matrix")
    if PROPOSALS.allows(current, to):
        property_service.decide_proposal(session=session, actor=STAFF,
                                         proposal_id=proposal.id, data=decision)
        assert proposal.status == to
    else:
        with pytest.raises(MoveRefused, match="proposal that is"):
            property_service.decide_proposal(session=session, actor=STAFF,
                                             proposal_id=proposal.id, data=decision)
        session.refresh(proposal)
        assert proposal.status == current


def test_a_refused_move_answers_409_on_the_api(client: TestClient, session: Session,
                                               ids: dict[str, int]) -> None:
    row = _asset(session, ids)
    row.status = "disposed"  # setting the scene
    session.flush()
    key = api_key(session, Role.regional_admin)
    r = client.post(f"/api/v1/assets/{row.id}/status", json={"to_status": "in_use"},
                    headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["detail"] == "An asset that is disposed cannot become in use; that is final."
    assert body["errors"][0]["loc"] == ["status"]


# ------------------------------------------------------------------------------ no raw writes

# Every attribute a machine moves ("status", tell us once's "verification").
STATUS_ATTRS = {machine.attribute for machine, _ in MACHINES.values()}
SKIP = {Path("src/govshare/core/states.py")}


def _chain_has_guard(node: ast.AST) -> bool:
    """Is there a ``.where(..., X.guard(...), ...)`` in this call chain?"""
    while isinstance(node, (ast.Call, ast.Attribute)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "where":
                for arg in node.args:
                    for sub in ast.walk(arg):
                        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                                and sub.func.attr == "guard"):
                            return True
            node = node.func
        else:
            node = node.value
    return False


def raw_status_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and t.attr in STATUS_ATTRS:
                    found.append(f"{node.lineno}: assigns .{t.attr}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "values"):
            keys = {k.arg for k in node.keywords}
            if (keys & STATUS_ATTRS or None in keys) and not _chain_has_guard(node.func.value):
                found.append(f"{node.lineno}: UPDATE ... SET status without a guard")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "setattr" and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status"):
            found.append(f"{node.lineno}: setattr status")
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and re.search(r"(?i)\bUPDATE\s+\w+\s+SET\s+(\w+\s*=.*,\s*)?status\b",
                              node.value)):
            found.append(f"{node.lineno}: SQL UPDATE of a status")
    return found


def test_the_checker_finds_raw_status_writes(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "row.status = 'dead'\n"
        "a.x, a.status = 1, 'x'\n"
        "session.execute(update(M).where(M.id == 1).values(status='dead'))\n"
        "session.execute(update(M).where(M.id == 1).values(**values))\n"
        "setattr(row, 'status', 'x')\n"
        "conn.execute(text('UPDATE outbox_messages SET status = 1'))\n"
        "session.execute(update(M).where(MACHINE.guard(M.status, 'x')).values(status='x'))\n"
        "session.execute(update(M).where(M.id == 1).values(body=None))\n")
    lines = sorted(f.split(":")[0] for f in raw_status_writes(sample))
    assert lines == ["1", "2", "3", "4", "5", "6"]


def test_no_write_path_changes_a_status_outside_its_machine() -> None:
    offenders = []
    for path in sorted((ROOT / "src" / "govshare").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel in SKIP or "migrations" in rel.parts:
            continue
        offenders += [f"{rel}:{f}" for f in raw_status_writes(path)]
    assert not offenders, "move statuses with core.states:\n" + "\n".join(offenders)


def test_requeue_moves_only_dead_letters(session: Session) -> None:
    message = outbox_service.enqueue(
        session, secret_key="k" * 40, topic="test.event", payload={"key": "matrix"},
        idempotency_key="state-matrix", destination="subscription:1",
        destination_label="Test agency", url="https://receiver.example.org/hook",
        signing_secret=new_signing_secret())
    for current in MESSAGES.states:
        message.status = current  # setting the scene
        session.flush()
        if current == "dead":
            outbox_service.requeue(session=session, actor=STAFF, message_id=message.id)
            assert message.status == "pending"
        else:
            with pytest.raises(Conflict):
                outbox_service.requeue(session=session, actor=STAFF, message_id=message.id)
            assert message.status == current
