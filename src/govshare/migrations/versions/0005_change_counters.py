"""Change counters for read caches, bumped by triggers in the writing transaction.

``open311`` counts changes to what the Open311 GeoReport v2 reads show: services and their
owners, requests and their updates, jurisdictions (agency names) and regions (slug, name).
See ``govshare.core.changes``. On PostgreSQL the triggers are deferred constraint triggers,
so the counter's row is locked only while the writer commits; SQLite writers are serialised
anyway. Both use an upsert, so a missing row can never silently stop the counting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TOPIC = "open311"
TABLES = ("services", "service_owners", "service_requests", "request_updates",
          "jurisdictions", "regions")
# Built from the constants above only: no value from outside reaches these statements.
BUMP = (f"INSERT INTO change_counters (name, version) VALUES ('{TOPIC}', 1) "  # noqa: S608
        "ON CONFLICT (name) DO UPDATE SET version = change_counters.version + 1")


def _trigger_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        out = [f"CREATE OR REPLACE FUNCTION bump_{TOPIC}_changes() RETURNS trigger AS $$ "
               f"BEGIN {BUMP}; RETURN NULL; END; $$ LANGUAGE plpgsql"]
        out += [f"CREATE CONSTRAINT TRIGGER {t}_{TOPIC}_changed "
                f"AFTER INSERT OR UPDATE OR DELETE ON {t} DEFERRABLE INITIALLY DEFERRED "
                f"FOR EACH ROW EXECUTE FUNCTION bump_{TOPIC}_changes()" for t in TABLES]
        return out
    return [f"CREATE TRIGGER {t}_{TOPIC}_{op_}d AFTER {op_.upper()} ON {t} "
            f"BEGIN {BUMP}; END"
            for t in TABLES for op_ in ("insert", "update", "delete")]


def _drop_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {t}_{TOPIC}_changed ON {t}" for t in TABLES] + \
            [f"DROP FUNCTION IF EXISTS bump_{TOPIC}_changes()"]
    return [f"DROP TRIGGER IF EXISTS {t}_{TOPIC}_{op_}d" for t in TABLES
            for op_ in ("insert", "update", "delete")]


def upgrade() -> None:
    op.create_table('change_counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_change_counters'))
    )
    op.execute(f"INSERT INTO change_counters (name, version) VALUES ('{TOPIC}', 0)")  # noqa: S608
    for statement in _trigger_sql(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in _drop_sql(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table('change_counters')
