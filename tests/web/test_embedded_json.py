"""JSON embedded in pages cannot end its script block, on every page that embeds some.

Issue 8, item 2.4: a building named ``X</script><h1 id=injected>`` ended the consolidation
page's JSON block (``json.dumps(...) | safe`` does not escape ``</``) and what followed was
parsed as HTML. Every template now embeds JSON through one filter (``tojson``, which is
``core.jsonhtml.json_for_html``); the browser side (tooltips as text) is in
``tests/browser/test_hostile_names.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from govshare.core.jsonhtml import json_for_html
from tests.conftest import login
from tests.factories.property import asset

HOSTILE = ("X</script><h1 id=injected>boom</h1><!-- <script>alert(1)</script> "
           "\u2028\u2029 & ' \" <img src=x onerror=alert(2)>")
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "govshare"
SCRIPT_BLOCK = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.S)


def test_the_filter_escapes_what_html_and_javascript_read_and_round_trips() -> None:
    value = {"name": HOSTILE, "nested": [HOSTILE], "n": 1.5, "inf": float("inf")}
    out = str(json_for_html(value))
    for ch in ("<", ">", "&", "'", "\u2028", "\u2029"):
        assert ch not in out, repr(ch)
    assert json.loads(out) == {**value, "inf": None}


def test_no_template_marks_text_safe_by_hand() -> None:
    """Embedded JSON goes through ``tojson``; nothing is passed through ``| safe``."""
    offenders = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                 if re.search(r"\|\s*safe\b", p.read_text(encoding="utf-8"))]
    assert offenders == []


def _blocks(html: str) -> dict[str, object]:
    """Each JSON block of a page, parsed as the browser's JSON.parse would."""
    blocks = {name: json.loads(body) for name, body in SCRIPT_BLOCK.findall(html)}
    assert "<h1 id=injected>" not in html and "<img src=x" not in html
    return blocks


def test_the_consolidation_page_keeps_a_hostile_name_inside_its_data(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    for code, jid, lon in (("H1", ids["city"], -122.335), ("H2", ids["county"], -122.321)):
        asset(session, jid, asset_code=code, name=HOSTILE if code == "H1" else "Plain annex",
              use="courthouse", lon=lon, lat=47.605, capacity=100, occupancy=40)
    login(client, "analyst@demo.govshare.org")
    r = client.get("/property/consolidation", params={"use": "courthouse", "max_km": "15"})
    assert r.status_code == 200
    plan = _blocks(r.text)["plan-data"]
    assert HOSTILE in [s["name"] for s in plan["sites"]]  # type: ignore[index]


def test_the_public_asset_page_keeps_a_hostile_name_inside_its_data(
        client: TestClient, session: Session, ids: dict[str, int]) -> None:
    a = asset(session, ids["city"], asset_code="H3", name=HOSTILE, status="surplus",
              public_groups=["identity", "location", "status"])
    r = client.get(f"/property/public/{a.id}")
    assert r.status_code == 200
    feature = _blocks(r.text)["public-map-feature"]
    assert feature["properties"]["name"] == HOSTILE  # type: ignore[index]


@pytest.mark.parametrize("path", ["/", "/here?zip=98104", "/property/public"])
def test_map_pages_without_a_block_show_a_hostile_member_name_as_text(
        client: TestClient, session: Session, ids: dict[str, int], path: str) -> None:
    session.execute(text("UPDATE jurisdictions SET name = :n WHERE id = :i"),
                    {"n": HOSTILE[:200], "i": ids["port"]})
    session.flush()
    asset(session, ids["port"], asset_code="H4", name=HOSTILE, status="surplus",
          public_groups=["identity", "location", "status"])
    r = client.get(path)
    assert r.status_code == 200
    _blocks(r.text)
