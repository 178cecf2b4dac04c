"""Who is acting, and the one policy that answers "may this principal do this to that".

A :class:`Principal` is a signed-in staff user, an API key, or the anonymous public. Roles:

- ``regional_admin``   — runs the regional office: every jurisdiction, users, keys, audit log.
- ``regional_analyst`` — reads every jurisdiction's data across the region; writes nothing
  that belongs to a member.
- ``jurisdiction_admin`` — manages one jurisdiction: its staff, its API keys, its records.
- ``jurisdiction_staff`` — works on one jurisdiction's records.
- ``open311_client`` — API keys only: an Open311 client app (submit service requests, read
  what the public reads), nothing else (issue 8, 2.17).
- ``public`` — anyone, not signed in.

Invariants:
- Every route declares one :class:`Action` (see ``core.http.allow``); a test walks the route
  table and fails on a route without one.
- Every principal belongs to one region. A principal of another region is refused every
  action the public may not take (``allows(..., region_id=)``; ``core.http.allow`` passes
  the region the installation serves), and is the public for the rest.
- Rows owned by a jurisdiction are visible to that jurisdiction's staff and to regional roles
  only. To anyone else they do not exist: :func:`ensure_visible` raises 404, not 403, so that
  ids of other members' private rows leak nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from govshare.core.errors import Forbidden, NotAuthenticated, NotFound


class Role(StrEnum):
    regional_admin = "regional_admin"
    regional_analyst = "regional_analyst"
    jurisdiction_admin = "jurisdiction_admin"
    jurisdiction_staff = "jurisdiction_staff"
    open311_client = "open311_client"
    public = "public"

    @property
    def is_regional(self) -> bool:
        return self in (Role.regional_admin, Role.regional_analyst)

    @property
    def is_jurisdictional(self) -> bool:
        return self in (Role.jurisdiction_admin, Role.jurisdiction_staff)

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.regional_admin: "Regional admin",
    Role.regional_analyst: "Regional analyst",
    Role.jurisdiction_admin: "Jurisdiction admin",
    Role.jurisdiction_staff: "Jurisdiction staff",
    Role.open311_client: "Open311 client (submit and read only)",
    Role.public: "Public",
}

STAFF_ROLES = (
    Role.regional_admin,
    Role.regional_analyst,
    Role.jurisdiction_admin,
    Role.jurisdiction_staff,
)

# Roles a user can hold, least privilege first (the admin forms preselect the first).
USER_ROLES = (
    Role.jurisdiction_staff,
    Role.jurisdiction_admin,
    Role.regional_analyst,
    Role.regional_admin,
)
# Roles an API key can hold, least privilege first: an Open311 client app needs no more.
APIKEY_ROLES = (Role.open311_client, *USER_ROLES)


class Action(StrEnum):
    """Everything a route can do. One policy row each in :data:`POLICY`."""

    public_read = "public.read"  # region home, members, boundaries, locate
    health = "health"
    session_manage = "session.manage"  # log in / log out forms
    staff_home = "staff.home"  # any signed-in staff page
    jurisdiction_manage = "jurisdiction.manage"  # add, edit, import a boundary
    user_read = "user.read"
    user_manage = "user.manage"
    apikey_read = "apikey.read"
    apikey_manage = "apikey.manage"
    audit_read = "audit.read"
    property_read = "property.read"  # staff views of the registry (own + others' public)
    property_manage = "property.manage"  # register, edit, import, change status, decide
    property_parameters = "property.parameters"  # region-wide cost parameters
    property_consolidate = "property.consolidate"  # cross-member consolidation plans
    catalog_manage = "catalog.manage"  # the shared service catalog and journeys
    request_submit = "request.submit"  # anyone: web form, Open311 (with a key), staff
    request_read = "request.read"  # staff queues and case records
    request_manage = "request.manage"  # status, notes, forward, recategorize
    proposal_submit = "proposal.submit"  # the public window's proposal form
    tellusonce_report = "tellusonce.report"  # anyone: report a move, birth or death once
    tellusonce_verify = "tellusonce.verify"  # staff of a member told: confirm or reject
    subscription_read = "subscription.read"  # staff: agencies subscribed to tell-us-once
    subscription_manage = "subscription.manage"  # add, deactivate, rotate a webhook secret
    outbox_read = "outbox.read"  # staff: webhook delivery status
    outbox_manage = "outbox.manage"  # requeue dead letters
    carbon_read = "carbon.read"  # staff: inventories (own member's; regional roles all)
    carbon_record = "carbon.record"  # record activity (a domain's service, an import)
    carbon_factors = "carbon.factors"  # add a factor set
    carbon_plan = "carbon.plan"  # targets and planned measures
    fleet_read = "fleet.read"  # staff: inventory, right-sizing, electrification (own + all)
    fleet_manage = "fleet.manage"  # register vehicles, readings, status, import logs
    fleet_parameters = "fleet.parameters"  # region-wide fleet thresholds and prices
    fleet_pool = "fleet.pool"  # cross-member pooling plans
    sites_read = "sites.read"  # staff: center scenarios, county data, rankings
    sites_manage = "sites.manage"  # create, edit, upload candidate data, choose a site
    casebook_read = "casebook.read"  # proposals and results (own member's figures only)
    casebook_manage = "casebook.manage"  # write proposals, scenarios, adopt / withdraw
    casebook_actuals = "casebook.actuals"  # record a member's actual costs for a year
    value_read = "value.read"  # the leaders' page and the value-case report


# Which roles may take each action, and whether a jurisdictional role is limited to its own
# jurisdiction ("own") or may act on any ("any"). Regional roles are never limited.
POLICY: dict[Action, dict[Role, str]] = {
    Action.public_read: {r: "any" for r in Role},
    Action.health: {r: "any" for r in Role},
    Action.session_manage: {r: "any" for r in Role},
    Action.staff_home: {r: "any" for r in STAFF_ROLES},
    Action.jurisdiction_manage: {Role.regional_admin: "any"},
    Action.user_read: {
        Role.regional_admin: "any",
        Role.regional_analyst: "any",
        Role.jurisdiction_admin: "own",
    },
    Action.user_manage: {Role.regional_admin: "any", Role.jurisdiction_admin: "own"},
    Action.apikey_read: {Role.regional_admin: "any", Role.jurisdiction_admin: "own"},
    Action.apikey_manage: {Role.regional_admin: "any", Role.jurisdiction_admin: "own"},
    Action.audit_read: {Role.regional_admin: "any"},
    Action.property_read: {r: "any" for r in STAFF_ROLES},
    Action.property_manage: {
        Role.regional_admin: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.property_parameters: {Role.regional_admin: "any"},
    Action.property_consolidate: {Role.regional_admin: "any", Role.regional_analyst: "any"},
    Action.catalog_manage: {Role.regional_admin: "any"},
    Action.request_submit: {r: "any" for r in Role},
    Action.request_read: {r: "any" for r in STAFF_ROLES},
    Action.request_manage: {
        Role.regional_admin: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.proposal_submit: {r: "any" for r in Role},
    Action.tellusonce_report: {r: "any" for r in Role},
    Action.tellusonce_verify: {
        Role.regional_admin: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.subscription_read: {r: "any" for r in STAFF_ROLES},
    Action.subscription_manage: {Role.regional_admin: "any", Role.jurisdiction_admin: "own"},
    Action.outbox_read: {r: "any" for r in STAFF_ROLES},
    Action.outbox_manage: {Role.regional_admin: "any"},
    Action.carbon_read: {
        Role.regional_admin: "any",
        Role.regional_analyst: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.carbon_record: {
        Role.regional_admin: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.fleet_read: {r: "any" for r in STAFF_ROLES},
    Action.fleet_manage: {
        Role.regional_admin: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.carbon_factors: {Role.regional_admin: "any"},
    Action.carbon_plan: {Role.regional_admin: "any", Role.jurisdiction_admin: "own"},
    Action.fleet_parameters: {Role.regional_admin: "any"},
    Action.fleet_pool: {Role.regional_admin: "any", Role.regional_analyst: "any"},
    Action.sites_read: {r: "any" for r in STAFF_ROLES},
    Action.sites_manage: {Role.regional_admin: "any", Role.regional_analyst: "any"},
    Action.casebook_read: {r: "own" for r in STAFF_ROLES},
    Action.casebook_manage: {Role.regional_admin: "any", Role.regional_analyst: "any"},
    Action.casebook_actuals: {
        Role.regional_admin: "any",
        Role.jurisdiction_admin: "own",
        Role.jurisdiction_staff: "own",
    },
    Action.value_read: {r: "any" for r in STAFF_ROLES},
}


@dataclass(frozen=True)
class Principal:
    """The acting party. ``kind`` is ``user``, ``apikey`` or ``anonymous``."""

    kind: str
    role: Role
    region_id: int | None = None
    jurisdiction_id: int | None = None
    user_id: int | None = None
    apikey_id: int | None = None
    name: str = "anonymous"
    # The ids of the members of the principal's region, when the principal was built from a
    # stored user or key (``None`` otherwise: the public, the operator at the command line).
    # A check on a member's row outside this set is a check in another region, whatever the
    # role: a regional admin of one region is nobody in another.
    region_members: frozenset[int] | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def ref(self) -> str:
        """How the audit log names this actor."""
        if self.kind == "user":
            return f"user:{self.user_id}"
        if self.kind == "apikey":
            return f"apikey:{self.apikey_id}"
        if self.kind == "system":
            return f"system:{self.name}"
        return "anonymous"


ANONYMOUS = Principal(kind="anonymous", role=Role.public)


def system_principal(name: str = "cli", region_id: int | None = None) -> Principal:
    """The operator at the command line: acts as regional admin, audited as ``system:<name>``."""
    return Principal(kind="system", role=Role.regional_admin, region_id=region_id, name=name)


def same_region(principal: Principal, region_id: int | None,
                jurisdiction_id: int | None = None) -> bool:
    """Whether ``principal`` belongs to ``region_id`` and ``jurisdiction_id``'s region (or
    what is compared is unknown: the public, the operator at the command line)."""
    if region_id is not None and principal.region_id is not None \
            and principal.region_id != region_id:
        return False
    return (jurisdiction_id is None or principal.region_members is None
            or jurisdiction_id in principal.region_members)


def allows(principal: Principal, action: Action, jurisdiction_id: int | None = None, *,
           region_id: int | None = None) -> bool:
    """May ``principal`` take ``action``, on a row of ``jurisdiction_id`` if one is given, in
    ``region_id`` if one is given? A principal of another region may do what the public
    may do, and nothing more."""
    if not same_region(principal, region_id, jurisdiction_id):
        return Role.public in POLICY[action]
    scope = POLICY[action].get(principal.role)
    if scope is None:
        return False
    if scope == "any" or principal.role.is_regional:
        return True
    return jurisdiction_id is None or jurisdiction_id == principal.jurisdiction_id


def authorize(principal: Principal, action: Action, jurisdiction_id: int | None = None, *,
              region_id: int | None = None) -> None:
    """Raise 401 for the anonymous public, 403 for staff without the right."""
    if allows(principal, action, jurisdiction_id, region_id=region_id):
        return
    if not principal.is_authenticated:
        raise NotAuthenticated("Sign in to do this.")
    if not same_region(principal, region_id):
        raise Forbidden(f"{'This API key' if principal.kind == 'apikey' else 'Your account'} "
                        "belongs to another region.")
    if not same_region(principal, None, jurisdiction_id):
        # a member id outside the principal's region: unknown, or another region's member,
        # which does not exist for it (as another region's users and keys do not)
        raise NotFound("Jurisdiction not found")
    raise Forbidden(f"Your role ({principal.role.label}) may not do this ({action.value}).")


def can_see_jurisdiction_rows(principal: Principal, jurisdiction_id: int | None) -> bool:
    """Whether a jurisdiction's non-public rows exist for this principal."""
    if not same_region(principal, None, jurisdiction_id):
        return False
    if principal.role.is_regional:
        return True
    return principal.role.is_jurisdictional and principal.jurisdiction_id == jurisdiction_id


def ensure_visible(principal: Principal, jurisdiction_id: int | None, what: str) -> None:
    """404 unless ``principal`` may see non-public rows of ``jurisdiction_id``."""
    if not can_see_jurisdiction_rows(principal, jurisdiction_id):
        raise NotFound(f"{what} not found")


def visible_jurisdiction_ids(principal: Principal) -> set[int] | None:
    """Jurisdictions whose private rows the principal sees; ``None`` means all of them."""
    if principal.role.is_regional:
        return None
    if principal.role.is_jurisdictional and principal.jurisdiction_id is not None:
        return {principal.jurisdiction_id}
    return set()
