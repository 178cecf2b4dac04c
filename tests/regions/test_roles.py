"""Least privilege: the admin forms preselect the least role (issue 8, 2.14), and an Open311
client app gets a key that submits and reads Open311 and nothing else (2.17)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from govshare.cli import app as cli_app
from govshare.core.errors import BadRequest, Forbidden
from govshare.core.tenancy import Role
from govshare.regions import service
from govshare.regions.schemas import ApiKeyCreate, UserCreate
from tests.conftest import login
from tests.contract.test_open311 import O311, submit
from tests.factories.cli import fresh_cli
from tests.factories.regions import api_key, principal


def preselected_role(html: str) -> str:
    """The option a browser submits when nobody touches the role select."""
    select = re.search(r'<select[^>]*id="role".*?</select>', html, re.S)
    assert select, "no role select"
    options = re.findall(r'<option value="([^"]+)"([^>]*)>', select.group(0))
    chosen = [value for value, attrs in options if "selected" in attrs]
    assert len(chosen) <= 1
    return chosen[0] if chosen else options[0][0]


def test_new_users_and_keys_default_to_the_least_privilege(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    assert preselected_role(client.get("/admin/users").text) == "jurisdiction_staff"
    keys = client.get("/admin/apikeys").text
    assert preselected_role(keys) == "open311_client"
    assert "public" not in re.findall(r'<option value="([a-z_0-9]+)"', keys)


def test_a_jurisdiction_admin_is_offered_local_roles_least_first(client: TestClient) -> None:
    login(client, "seattle.admin@demo.govshare.org")
    assert preselected_role(client.get("/admin/users").text) == "jurisdiction_staff"
    keys = client.get("/admin/apikeys").text
    assert preselected_role(keys) == "open311_client"
    assert "regional_admin" not in keys.split('id="role"')[1].split("</select>")[0]


@pytest.fixture
def client_key(session: Session) -> str:
    plaintext = api_key(session, Role.open311_client, None, name="Open311 app")
    session.commit()
    return plaintext


def test_an_open311_client_key_submits_and_reads_open311(client: TestClient,
                                                         client_key: str) -> None:
    new = submit(client, client_key)["service_request_id"]
    r = client.get(f"{O311}/requests/{new}.json",
                   headers={"Authorization": f"Bearer {client_key}"})
    assert r.status_code == 200 and r.json()[0]["service_request_id"] == new
    assert client.get(f"{O311}/services.json",
                      headers={"Authorization": f"Bearer {client_key}"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/assets", "/api/v1/apikeys",
                                  "/api/v1/audit", "/api/v1/me",
                                  "/api/v1/property/summary"])
def test_an_open311_client_key_reads_nothing_else(client: TestClient, client_key: str,
                                                  path: str) -> None:
    r = client.get(path, headers={"Authorization": f"Bearer {client_key}"})
    assert r.status_code == 403, (path, r.status_code, r.text[:200])


def test_the_role_is_for_keys_only_and_region_wide_keys_need_a_regional_admin(
        session: Session, system: object, ids: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="not a role a person can hold"):
        UserCreate(email="app@example.org", full_name="App", password="x" * 12,
                   role=Role.open311_client)
    with pytest.raises(ValueError, match="not a role a key can hold"):
        ApiKeyCreate(name="x", role=Role.public)
    seattle_admin = principal(Role.jurisdiction_admin, ids["city"])
    key, _ = service.create_api_key(session=session, actor=seattle_admin, region_id=1,
                                    data=ApiKeyCreate(name="Seattle's app",
                                                      role=Role.open311_client,
                                                      jurisdiction_id=ids["city"]))
    assert key.role == "open311_client" and key.jurisdiction_id == ids["city"]
    with pytest.raises(Forbidden, match="whole region"):
        service.create_api_key(session=session, actor=seattle_admin, region_id=1,
                               data=ApiKeyCreate(name="x", role=Role.open311_client))
    with pytest.raises(BadRequest):
        service.create_api_key(session=session, actor=seattle_admin, region_id=1,
                               data=ApiKeyCreate(name="x", role=Role.jurisdiction_staff))


def _role_choices(*path: str) -> list[str]:
    command = typer.main.get_command(cli_app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    role = next(p for p in command.params if p.name == "role")
    return [str(c.value) for c in role.type_descriptor.annotation]  # what --help lists


def test_apikey_create_lists_and_accepts_only_key_roles(tmp_path: Path) -> None:
    assert _role_choices("apikey", "create") == [
        "open311_client", "jurisdiction_staff", "jurisdiction_admin", "regional_analyst",
        "regional_admin"]  # least privilege first; never "public"
    assert _role_choices("user", "add") == [
        "jurisdiction_staff", "jurisdiction_admin", "regional_analyst", "regional_admin"]
    with fresh_cli("sqlite", tmp_path, "keyroles") as cli:
        assert "open311_client" in cli("apikey", "create", "--help").stdout
        refused = cli("apikey", "create", "x", "--role", "public", code=2)
        assert "public" in refused.stderr + refused.stdout
