"""Migration 0013 on data written before it (both databases): the proposals' organisation
column becomes organization with its values, the demo's sample content takes US spellings, and
content a region wrote itself is left as written. Downgrade restores both."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from govshare.core import migrate
from govshare.core.db import make_engine, utcnow
from tests.conftest import BACKENDS, fresh_database_url
from tests.conftest import _drop_pg as drop_pg

ATTRS = [{"code": "items", "datatype": "multivaluelist", "required": True, "order": 1,
          "description": "What was left", "values": [{"key": "tyres", "name": "Tyres"}]}]
ROWS = [
    "INSERT INTO regions (id, name, slug, created_at) VALUES (1, 'R', 'r', :now)",
    "INSERT INTO jurisdictions (id, region_id, name, kind, created_at, updated_at) "
    "VALUES (1, 1, 'City', 'city', :now, :now)",
    "INSERT INTO assets (id, jurisdiction_id, asset_code, name, kind, use, ownership, status, "
    "public_groups, synthetic_fields, created_at, updated_at) VALUES (1, 1, 'A', 'Hall', "
    "'building', 'office', 'owned', 'surplus', '[]', '[]', :now, :now)",
    "INSERT INTO proposals (id, asset_id, jurisdiction_id, kind, name, organisation, "
    "contact_email, proposed_use, description, status, created_at, updated_at) VALUES (1, 1, 1, "
    "'proposal', 'Cy', 'Tool Library Co-op', 'cy@example.org', 'Youth center', 'd', "
    "'received', :now, :now)",
    *[f"INSERT INTO services (id, region_id, code, name, description, keywords, life_events, "
      f"target_groups, channels, accepts_requests, attributes, search_text, sample, created_at, "
      f"updated_at) VALUES ({i}, 1, '{code}', 'Report harbour noise or tyres', "
      f"'Tyres, rubbish', '[\"rubbish\"]', '[]', '[]', '{{}}', TRUE, :attrs, "
      f"'report harbour noise tyres rubbish', {sample}, :now, :now)"
      for i, code, sample in ((1, "dumping", "TRUE"), (2, "theirs", "FALSE"))],
    *[f"INSERT INTO service_requests (id, region_id, public_id, token, service_id, "
      f"jurisdiction_id, status, channel, attributes, recorded_by, requested_at, updated_at) "
      f"VALUES ({i}, 1, '2026-00000{i}', 't{i}', {i}, 1, 'submitted', 'web', "
      f"'{{\"items\": [\"tyres\"]}}', 'public', :now, :now)" for i in (1, 2)],
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_0013_renames_organisation_and_the_demo_samples_spelling(backend: str,
                                                                  tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "m0013"))
    try:
        migrate.upgrade(engine, "0012")
        with engine.begin() as conn:
            for stmt in ROWS:
                conn.execute(sa.text(stmt), {"now": utcnow(), "attrs": json.dumps(ATTRS)})
        migrate.upgrade(engine, "0013")
        with engine.connect() as conn:
            org = conn.execute(sa.text("SELECT organization FROM proposals")).scalar_one()
            services = {r.code: r for r in conn.execute(sa.text(
                "SELECT code, name, description, keywords, attributes, search_text "
                "FROM services"))}
            answers = dict(conn.execute(sa.text(
                "SELECT service_id, attributes FROM service_requests")).all())
        assert org == "Tool Library Co-op"
        sample, theirs = services["dumping"], services["theirs"]
        assert sample.name == "Report harbor noise or tires"
        assert sample.description == "Tires, trash"
        assert sample.search_text == "report harbor noise tires trash"
        assert _json(sample.keywords) == ["trash"]
        assert _json(sample.attributes)[0]["values"] == [{"key": "tires", "name": "Tires"}]
        assert _json(answers[1]) == {"items": ["tires"]}
        # A region's own content is as its authors wrote it.
        assert theirs.name == "Report harbour noise or tyres"
        assert _json(theirs.attributes) == ATTRS and _json(answers[2]) == {"items": ["tyres"]}

        _down(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT organisation FROM proposals")).scalar_one() == \
                "Tool Library Co-op"
            assert conn.execute(sa.text(
                "SELECT name FROM services WHERE code = 'dumping'")).scalar_one() == \
                "Report harbour noise or tyres"
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg(f"govshare_m0013_{os.getpid()}")


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def _down(engine: sa.Engine) -> None:
    from alembic import command

    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")

