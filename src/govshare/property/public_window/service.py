"""The public window's rules, shared by its page router (``public_pages``) and its JSON router
(``public_api``), which may not import each other.

Invariants (each has a test in ``tests/property/test_public_window.py``):

- Everything handed to a public response is built from :class:`AssetPublic` (the asset's
  published field groups) or :class:`ProposalPublic` (no name, organization, e-mail or
  description). Templates and feeds never see an ``Asset`` or ``Proposal`` row.
- Being listed in the window says an asset's status, so an asset is listed — and takes
  submissions through the window — only if its ``status`` group is published.
- Search matches published text only (name, type, use, owner, and the address only if the
  location is published; ``queries._word_matches``): a search must not be a way to probe a
  private field. Filtering, counting and paging happen in SQL; the list page reads the rows
  of the page it shows only, and counts those with a published location in SQL under the
  same group rule (:func:`counts`): an unpublished location changes no public number.
- Submissions are rate-limited per client address in the database (``core.ratelimit``), so
  every web process counts the same attempts. A honeypot hit counts too, and stores nothing.
- A photo, and its thumbnail, is served only while its asset publishes the ``photos`` group
  (``queries.public_photo``); otherwise it is a 404 with nothing cacheable, the same as a
  photo that never existed. A photo without a thumbnail (small, or stored before thumbnails)
  serves itself as its thumbnail. The proposal deadline is in the ``status`` group, so a page
  that offers the form can always say until when (tests in
  ``tests/property/test_public_asset_page.py``).
- Lists and feeds carry the published photos of each listed asset (``AssetPublic.photos``),
  read for the whole list in one query (``queries.public_photos``, which reads no image
  bytes), never an unpublished one; the list page reads them for the listings it shows only
  (:func:`with_photos`) and shows the first one's thumbnail; the feeds and the JSON API give
  their addresses absolute (:func:`photo_urls`, :func:`with_absolute_urls`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from govshare.core import ratelimit, tabular
from govshare.core.errors import BadRequest, NotFound
from govshare.core.paging import PageParams
from govshare.core.tenancy import Principal
from govshare.property import calc, queries, service
from govshare.property.models import AssetPhoto, AssetStatus, Proposal
from govshare.property.schemas import (
    FIELD_GROUPS,
    STATUS_LABELS,
    USE_LABELS,
    AssetPublic,
    ProposalIn,
    ProposalPublic,
)

SUBMISSIONS_PER_WINDOW = 5
SUBMISSION_WINDOW = timedelta(hours=1)
RATE_BUCKET = "proposal-client"
OPEN_TO_PROPOSALS = frozenset(s.value for s in service.OPEN_TO_PROPOSALS)
OPEN_TO_CHALLENGE = frozenset(s.value for s in service.OPEN_TO_CHALLENGE)
WINDOW_STATUSES = tuple(queries.PUBLIC_WINDOW_STATUSES)
# Fields shown as the list's own columns or as a feature's geometry, not repeated as facts.
GEOMETRY_FIELDS = ("lon", "lat", "footprint_geojson")
FEED_FIRST = ("name", "use", "status")


@dataclass(frozen=True)
class Listed:
    """One asset as the public sees it, with the published fields that are demo-generated."""

    view: AssetPublic
    synthetic: frozenset[str]

    @property
    def id(self) -> int:
        return self.view.id

    def get(self, name: str) -> Any:
        return self.view.fields.get(name)


def reference(proposal_id: int) -> str:
    """The number a member of the public quotes about their submission."""
    return f"P-{proposal_id:06d}"


REFERENCE_RE = re.compile(r"\s*P?\s*-?\s*0*(\d{1,9})\s*", re.IGNORECASE)


def parse_reference(text: str) -> int | None:
    """A proposal id from its reference as people type it: ``P-000123``, ``p000123``,
    ``P 123``, ``123``; None when it cannot be one."""
    m = REFERENCE_RE.fullmatch(text[:40])
    return int(m.group(1)) if m and 0 < int(m.group(1)) < 2**31 else None


def tracked(*, session: Session, typed: str) -> tuple[int, str]:
    """The public asset page (asset id) listing the proposal a reference names, and the
    reference as written there. 404 otherwise: the same answer for a reference never given
    and for one whose asset is no longer public."""
    proposal_id = parse_reference(typed)
    if proposal_id is None:
        raise NotFound("No proposal has that reference")
    try:
        row = queries.get_public_proposal(session=session, proposal_id=proposal_id)
    except NotFound:
        raise NotFound("No proposal has that reference") from None
    return row.asset_id, reference(row.id)


def listed(asset: Any, view: AssetPublic) -> Listed:
    return Listed(view=view,
                  synthetic=frozenset(asset.synthetic_fields or []) & frozenset(view.fields))


def status_is_public(view: AssetPublic) -> bool:
    return "status" in view.public_groups


def listing(*, session: Session, region_id: int, q: str | None = None, use: str | None = None,
            status: str | None = None, include_in_use: bool = False,
            page: PageParams | None = None, with_photos: bool = True,
            total: int | None = None) -> tuple[list[Listed], int]:
    """Public assets that are surplus, vacant or under-used (and in use, if asked), whose
    status is published; ``q`` must match published text, every word of it. One page (all
    without ``page``) and the number of assets on every page together (``total``, when
    :func:`counts` has made it already, is not counted again). Without ``with_photos`` they
    carry no photos: read those of the ones shown with :func:`with_photos`."""
    if status == AssetStatus.in_use.value:
        include_in_use = True
    rows, total = queries.public_window(session=session, region_id=region_id, q=q,
                                        use=use or None, status=status or None,
                                        include_in_use=include_in_use, page=page,
                                        with_photos=with_photos, total=total)
    return [listed(asset, view) for asset, view in rows], total


def counts(*, session: Session, region_id: int, q: str | None = None, use: str | None = None,
           status: str | None = None, include_in_use: bool = False) -> queries.WindowCounts:
    """For the filters of :func:`listing`: how many assets it lists, and how many of them have
    a published location, counted in SQL without reading the rows."""
    if status == AssetStatus.in_use.value:
        include_in_use = True
    return queries.public_window_counts(session=session, region_id=region_id, q=q,
                                        use=use or None, status=status or None,
                                        include_in_use=include_in_use)


def with_photos(*, session: Session, items: list[Listed]) -> list[Listed]:
    """The items with their published photos, read in one query for these items alone
    (``queries.public_photos``)."""
    photos = queries.public_photos(session=session, assets=[i.view for i in items])
    return [replace(i, view=i.view.model_copy(update={"photos": photos.get(i.id, [])}))
            for i in items]


def get(*, session: Session, asset_id: int) -> Listed:
    asset, view = queries.get_public_asset(session=session, asset_id=asset_id)
    return listed(asset, view)


def open_for(item: Listed) -> str | None:
    """Which kind of submission the window offers for this asset: "proposal", "challenge" or
    none (its status is unpublished, or it is being disposed of)."""
    if not status_is_public(item.view):
        return None
    status = item.get("status")
    if status in OPEN_TO_PROPOSALS:
        return "proposal"
    if status in OPEN_TO_CHALLENGE:
        return "challenge"
    return None


@dataclass(frozen=True)
class Deadline:
    """A published proposal deadline as the page says it."""

    day: date
    text: str  # "Friday, January 29, 2027, 11:59 PM PST"
    closed: bool


def deadline(item: Listed, tz: str, now: datetime) -> Deadline | None:
    """The asset's proposal deadline, if it takes proposals and publishes one."""
    day = item.get("proposal_deadline")
    if not isinstance(day, date) or open_for(item) != "proposal":
        return None
    return Deadline(day=day, text=calc.deadline_text(day, tz),
                    closed=calc.proposals_closed(day, tz, now))


def photo(*, session: Session, asset_id: int, photo_id: int) -> AssetPhoto:
    """A published photo's row, its bytes not read yet (serve them with
    ``queries.photo_bytes``, tagged by ``queries.photo_etag``); 404 unless the asset publishes
    photos."""
    return queries.public_photo(session=session, asset_id=asset_id, photo_id=photo_id)


def proposals(*, session: Session, asset_id: int) -> list[ProposalPublic]:
    return [ProposalPublic.model_validate(p)
            for p in queries.list_proposals(session=session, asset_id=asset_id)[0]]


def public_history(*, session: Session, proposal_id: int) -> list[dict[str, Any]]:
    """Status changes with their dates; staff notes and who made them stay internal."""
    return [{"to_status": h.to_status, "at": h.at}
            for h in queries.proposal_history(session=session, proposal_id=proposal_id)]


# ------------------------------------------------------------------------------ submissions


def check_rate(*, session: Session, client: str) -> None:
    minutes = int(SUBMISSION_WINDOW.total_seconds() // 60)
    ratelimit.check(
        session, RATE_BUCKET, client, window=SUBMISSION_WINDOW, limit=SUBMISSIONS_PER_WINDOW,
        message=f"{SUBMISSIONS_PER_WINDOW} submissions have been sent from your address in "
        f"the last {minutes} minutes, which is as many as we take. Please try again later.")


def submit(*, session: Session, actor: Principal, asset_id: int, data: ProposalIn,
           client: str) -> Proposal:
    """Rate-limit, check the asset takes this kind of submission here, then store it."""
    check_rate(session=session, client=client)
    item = get(session=session, asset_id=asset_id)
    if not status_is_public(item.view):
        raise BadRequest("This asset does not take proposals or challenges through the public "
                         "window; contact its owner, " + item.view.jurisdiction_name + ".")
    ratelimit.hit(session, RATE_BUCKET, client)
    return service.submit_proposal(session=session, actor=actor, asset_id=asset_id, data=data)


def honeypot(*, session: Session, client: str) -> None:
    """A form that filled the field people are asked to leave empty: count it, store nothing."""
    check_rate(session=session, client=client)
    ratelimit.hit(session, RATE_BUCKET, client)


# ------------------------------------------------------------------------------ feeds


def _feed_fields(items: Iterable[Listed]) -> list[str]:
    present = {name for item in items for name in item.view.fields}
    ordered = [f for group in FIELD_GROUPS.values() for f in group]
    return [f for f in ordered if f in present and f not in FEED_FIRST
            and f not in GEOMETRY_FIELDS]


def photo_urls(view: AssetPublic, base_url: str) -> list[str]:
    """The absolute addresses of the asset's published photos, oldest first."""
    return [base_url + p.url for p in view.photos]


def with_absolute_urls(view: AssetPublic, base_url: str) -> AssetPublic:
    """The view as the JSON API gives it: its photos' addresses absolute."""
    return view.model_copy(update={"photos": [
        p.model_copy(update={"url": base_url + p.url,
                             "thumbnail_url": base_url + p.thumbnail_url})
        for p in view.photos]})


def csv_feed(items: list[Listed], base_url: str) -> str:
    """The listing as CSV, written by the shared writer (text neutralized for spreadsheets,
    numbers left numbers). ``photo_urls`` holds the published photos' addresses separated by
    a space (a URL has none), empty when there are none."""
    extra = _feed_fields(items)
    header = ["id", "name", "jurisdiction", "use", "status", "url", "photo_urls", "lon", "lat",
              *extra, "synthetic_fields"]
    rows = ([item.id, item.get("name"), item.view.jurisdiction_name, item.get("use"),
             item.get("status"), f"{base_url}/property/public/{item.id}",
             " ".join(photo_urls(item.view, base_url)), item.get("lon"),
             item.get("lat"), *(item.get(name) for name in extra), sorted(item.synthetic)]
            for item in items)
    buf = io.StringIO()
    tabular.write_csv(header, rows, buf)
    return buf.getvalue()


def feature(item: Listed, base_url: str) -> dict[str, Any]:
    """An RFC 7946 Feature: a Point if the location is published, else a null geometry.
    ``photos`` lists the published photos' addresses (empty when there are none)."""
    f = item.view.fields
    props: dict[str, Any] = {
        "name": f.get("name"), "jurisdiction": item.view.jurisdiction_name,
        "use": f.get("use"), "use_label": USE_LABELS.get(f.get("use") or "", f.get("use")),
        "status": f.get("status"),
        "status_label": STATUS_LABELS.get(f.get("status") or "", f.get("status")),
        "url": f"{base_url}/property/public/{item.id}",
    }
    for name, value in f.items():
        if name not in props and name not in GEOMETRY_FIELDS:
            props[name] = value.isoformat() if isinstance(value, date) else value
    props["photos"] = photo_urls(item.view, base_url)
    props["synthetic_fields"] = sorted(item.synthetic)
    lon, lat = f.get("lon"), f.get("lat")
    point = (float(lon), float(lat)) if lon is not None and lat is not None else None
    return tabular.feature(point, props, id=item.id)


def geojson_feed(items: list[Listed], base_url: str) -> str:
    """The listing as an RFC 7946 FeatureCollection, written by the shared writer."""
    return "".join(tabular.geojson_chunks(feature(item, base_url) for item in items))
