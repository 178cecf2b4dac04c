"""Migrations upgrade an empty database on both backends, and agree with the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from govshare.core import migrate
from govshare.core.db import make_engine
from govshare.core.models import metadata
from tests.conftest import BACKENDS, fresh_database_url


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_empty_and_models_agree(backend: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_database_url(backend, tmp_path, "migr"))
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        migrate.upgrade(engine)  # idempotent
    finally:
        engine.dispose()


def test_migration_files_are_numbered() -> None:
    versions = Path(migrate.alembic_config("sqlite://").get_main_option("script_location")
                    or "") / "versions"
    names = sorted(p.name for p in versions.glob("*.py") if not p.name.startswith("__"))
    assert names, "no migrations"
    for i, name in enumerate(names, start=1):
        assert name.startswith(f"{i:04d}_"), f"{name} is not numbered NNNN_slug.py in sequence"


def test_audit_log_is_append_only_in_the_database(connection: sa.Connection) -> None:
    connection.execute(sa.text(
        "INSERT INTO audit_events (at, actor, actor_role, action, entity) "
        "VALUES (CURRENT_TIMESTAMP, 'test', 'regional_admin', 'x.test', 'x')"))
    for stmt in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        savepoint = connection.begin_nested()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            connection.execute(sa.text(stmt))
        savepoint.rollback()
