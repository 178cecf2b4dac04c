"""CLI of the regions domain: region list, jurisdiction add/list, user add/list, apikey."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from govshare.core.cli_support import console, db, handle_errors, print_json, validated
from govshare.core.errors import NotFound
from govshare.core.paging import PageParams
from govshare.core.tenancy import APIKEY_ROLES, USER_ROLES, Role, system_principal
from govshare.regions import queries, service
from govshare.regions.schemas import (
    ApiKeyCreate,
    JurisdictionCreate,
    JurisdictionKind,
    JurisdictionRead,
    UserCreate,
)

# The choices --role lists are the ones it accepts: people never hold the public or the
# Open311 client role; keys never hold the public one.
UserRole = StrEnum("UserRole", {r.name: r.value for r in USER_ROLES})  # type: ignore[misc]
KeyRole = StrEnum("KeyRole", {r.name: r.value for r in APIKEY_ROLES})  # type: ignore[misc]

region_app = typer.Typer(help="Regions: the shared-services partnership this installation serves.",
                         no_args_is_help=True)
jurisdiction_app = typer.Typer(help="Member jurisdictions and their boundaries.",
                               no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for other systems.", no_args_is_help=True)


def _region_id(session: object) -> int:
    region = queries.current_region(session=session)  # type: ignore[arg-type]
    if region is None:
        raise NotFound("No region yet: run `govshare region create NAME --counties ...` "
                       "or `govshare demo` first")
    return region.id


@region_app.command("show")
@handle_errors
def region_show(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False
                ) -> None:
    """Show the region and its members."""
    with db() as session:
        rid = _region_id(session)
        region = queries.current_region(session=session)
        members = queries.list_jurisdictions(session=session, region_id=rid)
        if as_json:
            print_json({"id": rid, "name": region.name if region else None,
                        "members": [JurisdictionRead.model_validate(j).model_dump(mode="json")
                                    for j in members]})
            return
        _members_table(region.name if region else "", members)


def _members_table(title: str, members: list) -> None:  # type: ignore[type-arg]
    table = Table(title=title)
    for col in ("id", "name", "kind", "parent", "GEOID", "population"):
        table.add_column(col)
    names = {j.id: j.name for j in members}
    for j in members:
        table.add_row(str(j.id), j.name, JurisdictionKind(j.kind).label,
                      names.get(j.parent_id, ""), j.geoid or "",
                      f"{j.population:,}" if j.population else "")
    console.print(table)


@jurisdiction_app.command("list")
@handle_errors
def jurisdiction_list() -> None:
    """List the member jurisdictions."""
    with db() as session:
        members = queries.list_jurisdictions(session=session, region_id=_region_id(session))
        _members_table("Members", members)


@jurisdiction_app.command("add")
@handle_errors
def jurisdiction_add(
    name: Annotated[str, typer.Argument(help="Official name, e.g. 'City of Seattle'")],
    kind: Annotated[JurisdictionKind, typer.Option(help="Kind of government")],
    parent: Annotated[str | None, typer.Option(help="Parent: id, GEOID or exact name")] = None,
    geoid: Annotated[str | None, typer.Option(help="Census GEOID / FIPS, if it has one")] = None,
    population: Annotated[int | None, typer.Option(min=0)] = None,
    population_source: Annotated[str | None, typer.Option(help="Where the figure is from")
                                 ] = None,
) -> None:
    """Add a member jurisdiction (its boundary comes next: `jurisdiction import-boundary`)."""
    with db() as session:
        rid = _region_id(session)
        parent_id = None
        if parent:
            parent_id = queries.find_jurisdiction(session=session, region_id=rid, ref=parent).id
        j = service.add_jurisdiction(
            session=session, actor=system_principal(), region_id=rid,
            data=validated(JurisdictionCreate, name=name, kind=kind, parent_id=parent_id,
                           geoid=geoid, population=population,
                           population_source=population_source))
        console.print(f"Added {j.name} (id {j.id}).")


@user_app.command("add")
@handle_errors
def user_add(
    email: Annotated[str, typer.Argument(help="E-mail address; also the sign-in name")],
    role: Annotated[UserRole, typer.Option(help="Role")],
    full_name: Annotated[str, typer.Option("--name", help="Full name")],
    jurisdiction: Annotated[str | None, typer.Option(
        help="For jurisdiction roles: id, GEOID or exact name")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True,
                                          help="At least 12 characters (prompted if omitted)")
                        ] = "",
) -> None:
    """Add a staff user."""
    with db() as session:
        rid = _region_id(session)
        jid = (queries.find_jurisdiction(session=session, region_id=rid, ref=jurisdiction).id
               if jurisdiction else None)
        user = service.create_user(
            session=session, actor=system_principal(), region_id=rid,
            data=validated(UserCreate, email=email, full_name=full_name, password=password,
                           role=Role(role.value), jurisdiction_id=jid))
        console.print(f"Added {user.email} as {Role(user.role).label} (id {user.id}).")


@user_app.command("list")
@handle_errors
def user_list() -> None:
    """List staff users."""
    with db() as session:
        users, _ = queries.list_users(session=session, actor=system_principal(),
                                      region_id=_region_id(session), page=PageParams(500))
        table = Table()
        for col in ("id", "email", "name", "role", "jurisdiction", "active"):
            table.add_column(col)
        for u in users:
            table.add_row(str(u.id), u.email, u.full_name, Role(u.role).label,
                          str(u.jurisdiction_id or ""), "yes" if u.is_active else "no")
        console.print(table)


@apikey_app.command("create")
@handle_errors
def apikey_create(
    name: Annotated[str, typer.Argument(help="What will use the key, e.g. 'Open311 app'")],
    role: Annotated[KeyRole, typer.Option(
        help="Role the key acts with; open311_client: submit and read Open311 only")] =
    KeyRole(Role.open311_client.value),
    jurisdiction: Annotated[str | None, typer.Option(
        help="Scope: id, GEOID or exact name (omit for a region-wide key)")] = None,
) -> None:
    """Create an API key. The key is printed once; only its hash is kept."""
    with db() as session:
        rid = _region_id(session)
        jid = (queries.find_jurisdiction(session=session, region_id=rid, ref=jurisdiction).id
               if jurisdiction else None)
        key, plaintext = service.create_api_key(
            session=session, actor=system_principal(), region_id=rid,
            data=validated(ApiKeyCreate, name=name, role=Role(role.value),
                           jurisdiction_id=jid))
        console.print(f"Created API key {key.id} ({key.name}, prefix {key.prefix}). "
                      "Copy it now; it will not be shown again:")
        console.print(plaintext, highlight=False, soft_wrap=True)


@apikey_app.command("revoke")
@handle_errors
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or its 8-character prefix")],
) -> None:
    """Revoke an API key; requests using it get 401 from then on."""
    with db() as session:
        actor = system_principal()
        if key.isdigit():
            row = service.revoke_api_key(session=session, actor=actor, apikey_id=int(key))
        else:
            found = service.find_api_key(session=session, prefix=key.removeprefix("gsk_")[:8])
            row = service.revoke_api_key(session=session, actor=actor, apikey_id=found.id)
        console.print(f"Revoked API key {row.id} ({row.name}).")


@apikey_app.command("list")
@handle_errors
def apikey_list() -> None:
    """List API keys (never the keys themselves)."""
    with db() as session:
        keys, _ = queries.list_api_keys(session=session, actor=system_principal(),
                                        region_id=_region_id(session))
        table = Table()
        for col in ("id", "name", "prefix", "role", "jurisdiction", "last used", "revoked"):
            table.add_column(col)
        for k in keys:
            table.add_row(str(k.id), k.name, k.prefix, k.role, str(k.jurisdiction_id or ""),
                          str(k.last_used_at or ""), str(k.revoked_at or ""))
        console.print(table)
