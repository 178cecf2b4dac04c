"""Staff pages of the outbox: delivery status by destination and by status, dead letters with
their last error and attempt history, and requeueing (regional admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from govshare.core.errors import BadRequest
from govshare.core.http import allow, csrf_protect, get_session, redirect, render
from govshare.core.tenancy import Action, Principal, allows
from govshare.outbox import queries, service
from govshare.outbox.schemas import MessageStatus

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/outbox")
def status_page(
    request: Request,
    status: str = Query("", max_length=20),
    destination: str = Query("", max_length=100),
    page: int = Query(1, ge=1, le=10_000),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.outbox_read)),
) -> Response:
    counts = queries.status_counts(session=session, actor=actor)
    if status not in {s.value for s in MessageStatus}:
        status = "dead" if counts["dead"] else ""
    rows, total = queries.messages(session=session, actor=actor, status=status or None,
                                   destination=destination or None, limit=PAGE_SIZE,
                                   offset=(page - 1) * PAGE_SIZE)
    return render(request, "outbox/status.html", {
        "counts": counts, "labels": queries.STATUS_LABELS, "status": status,
        "destination": destination,
        "destinations": queries.by_destination(session=session, actor=actor),
        "messages": rows, "total": total, "page": page, "page_size": PAGE_SIZE,
        "attempts": queries.attempts(session=session, message_ids=[m.id for m in rows]),
        "can_manage": allows(actor, Action.outbox_manage),
    })


@router.post("/outbox/requeue", dependencies=[Depends(csrf_protect)])
def requeue(
    request: Request,
    message_id: str = Form("", max_length=12),
    destination: str = Form("", max_length=100),
    session: Session = Depends(get_session),
    actor: Principal = Depends(allow(Action.outbox_manage)),
) -> Response:
    """One dead letter (``message_id``), or every dead letter (of ``destination``)."""
    if message_id.strip():
        if not message_id.strip().isdigit():
            raise BadRequest("message_id must be a number")
        service.requeue(session=session, actor=actor, message_id=int(message_id))
        n = 1
    else:
        n = service.requeue_dead(session=session, actor=actor,
                                 destination=destination.strip() or None)
    session.commit()
    flash = (f"Requeued {n} message{'' if n == 1 else 's'}; the worker sends "
             f"{'it' if n == 1 else 'them'} within moments." if n else
             "There were no dead letters to requeue.")
    return redirect("/outbox?status=pending" if n else "/outbox", flash=flash)
