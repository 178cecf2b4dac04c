"""One form-error mapping (core.forms) for every form (issue 8 §3).

Pages map a refusal to the fields the person must correct with ``forms.form_errors``; the
error summary names each field as the page does and links to its input. No page module maps
pydantic errors itself.
"""

from __future__ import annotations

import ast
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, EmailStr, Field, ValidationError, field_validator

from govshare.core import forms
from govshare.core.errors import BadRequest, ValidationFailed
from tests.conftest import ROOT, csrf_from, login


class Inner(BaseModel):
    size: int = Field(ge=1)


class Sample(BaseModel):
    email: EmailStr
    full_name: str = Field(min_length=2)
    inner: Inner

    @field_validator("full_name")
    @classmethod
    def no_digits(cls, v: str) -> str:
        if any(c.isdigit() for c in v):
            raise ValueError("must not hold digits")
        return v


def _refusal(**values: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Sample(**values)  # type: ignore[arg-type]
    return caught.value


def test_pydantic_errors_become_fields_with_labels_and_plain_reasons() -> None:
    errors = forms.form_errors(_refusal(email="nope", full_name="R2D2", inner={"size": 0}),
                               labels={"email": "e-mail address"},
                               anchors={"full_name": "f-name"})
    by = {e["field"]: e for e in errors}
    assert list(by) == ["email", "full_name", "inner.size"]
    assert by["email"]["label"] == "E-mail address" and by["email"]["loc"] == ["email"]
    assert by["full_name"]["reason"] == "Must not hold digits"  # no "Value error, " prefix
    assert by["full_name"]["anchor"] == "f-name" and by["email"]["anchor"] == "email"
    assert by["inner.size"]["label"] == "Inner › size" and "greater than or equal to 1" in \
        by["inner.size"]["reason"]
    assert forms.by_field(errors)["email"] == by["email"]["reason"]


def test_service_refusals_keep_their_fields_or_speak_for_the_form() -> None:
    failed = ValidationFailed("no", errors=[{"loc": ["body", "time_zone"], "reason": "not IANA"}])
    [e] = forms.form_errors(failed)
    assert (e["field"], e["label"], e["reason"]) == ("time_zone", "Time zone", "not IANA")
    [whole] = forms.form_errors(BadRequest("Nothing to do"))
    assert whole["field"] == "" and whole["loc"] == [] and whole["reason"] == "Nothing to do"
    [parsed] = forms.form_errors(ValueError("invalid literal for int() with base 10: 'x'"))
    assert parsed["field"] == "" and parsed["reason"].startswith("Invalid literal")
    with pytest.raises(KeyError):
        forms.form_errors(KeyError("not a form error"))
    assert forms.by_field([{"loc": ["agencies"], "reason": "choose one"}]) == {
        "agencies": "choose one"}


def test_no_page_module_maps_pydantic_errors_itself() -> None:
    offenders = []
    for path in sorted((ROOT / "src" / "govshare").rglob("pages.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "errors" and not node.args):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, "map form errors with core.forms.form_errors: " + ", ".join(offenders)


LINK = re.compile(r'<a href="#([\w-]+)"><strong>([^<]+)</strong></a>: ([^<]+)</li>')


def test_the_error_summary_links_each_field_to_its_input(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    page = client.get("/admin/users")
    r = client.post("/admin/users", data={
        "email": "not-an-email", "full_name": "X", "password": "short",
        "role": "jurisdiction_staff", "jurisdiction_id": "", "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422
    links = {anchor: (label, reason) for anchor, label, reason in LINK.findall(r.text)}
    assert {"email", "password"} <= set(links), links
    assert links["email"][0] == "Email"
    for anchor in links:
        assert f'id="{anchor}"' in r.text, f"the summary links #{anchor}, no input has that id"


def test_the_public_request_form_links_to_its_prefixed_inputs(client: TestClient) -> None:
    page = client.get("/requests/new", params={"service": "pothole"})
    assert page.status_code == 200
    r = client.post("/requests/new", data={
        "service_code": "pothole", "lat": "47.6080", "lon": "-122.3351", "description": "A hole",
        "attribute[size]": "large", "email": "not-an-email",
        "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422
    anchors = [a for a, _, _ in LINK.findall(r.text)]
    assert anchors and all(f'id="{a}"' in r.text for a in anchors), anchors
