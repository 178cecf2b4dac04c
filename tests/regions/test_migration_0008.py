"""Migration 0008 on keys written before it: they stay, the role-scope check now admits Open311
client keys (region-wide or for one member), and still refuses a regional key tied to a
member; 0009 adds the known sign-in addresses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from govshare.core import migrate
from govshare.core.db import make_engine, utcnow
from tests.conftest import BACKENDS, fresh_database_url
from tests.conftest import _drop_pg as drop_pg

KEY = ("INSERT INTO api_keys (id, region_id, name, prefix, key_hash, role, jurisdiction_id, "
       "created_by, created_at) VALUES (:id, 1, 'k', :prefix, :hash, :role, :jid, 't', :now)")


def insert_key(conn: sa.Connection, key_id: int, role: str, jid: int | None) -> None:
    conn.execute(sa.text(KEY), {"id": key_id, "prefix": f"p{key_id:07d}", "hash": f"h{key_id}",
                                "role": role, "jid": jid, "now": utcnow()})


@pytest.mark.parametrize("backend", BACKENDS)
def test_0008_admits_open311_client_keys_and_keeps_the_others(backend: str,
                                                              tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "m0008"))
    try:
        migrate.upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO regions (id, name, slug, created_at) "
                                 "VALUES (1, 'R', 'r', :now)"), {"now": utcnow()})
            conn.execute(sa.text("INSERT INTO jurisdictions (id, region_id, name, kind, "
                                 "created_at, updated_at) VALUES (1, 1, 'City', 'city', :now, "
                                 ":now)"), {"now": utcnow()})
            insert_key(conn, 1, "jurisdiction_staff", 1)
            insert_key(conn, 2, "regional_analyst", None)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            insert_key(conn, 3, "open311_client", None)  # not before 0008
        migrate.upgrade(engine, "head")
        with engine.begin() as conn:
            insert_key(conn, 3, "open311_client", None)
            insert_key(conn, 4, "open311_client", 1)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            insert_key(conn, 5, "regional_admin", 1)  # the old rule still holds
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (region_id, email, full_name, "
                                 "password_hash, role, is_active, created_at) VALUES (1, "
                                 "'a@b.org', 'A', 'x', 'open311_client', TRUE, :now)"),
                         {"now": utcnow()})  # people never hold it
        with engine.connect() as conn:
            roles = dict(conn.execute(sa.text("SELECT id, role FROM api_keys")).all())
            tables = sa.inspect(conn).get_table_names()
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("api_keys")}
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_pg(f"govshare_m0008_{os.getpid()}")
    assert roles == {1: "jurisdiction_staff", 2: "regional_analyst", 3: "open311_client",
                     4: "open311_client"}
    assert "sign_in_addresses" in tables
    assert {"ix_api_keys_jurisdiction_id", "ix_api_keys_region_id_revoked_at"} <= indexes
