"""Open311 client keys: an API key role that may submit and read Open311, nothing else.

The role-scope check of ``api_keys`` also admits ``open311_client``, with or without a
member (region-wide keys are made by a regional admin, checked in ``regions.service``).
People never hold the role: the check of ``users`` is unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:50:00
"""

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_OLD = ("(role IN ('regional_admin', 'regional_analyst') AND jurisdiction_id IS NULL) OR "
        "(role IN ('jurisdiction_admin', 'jurisdiction_staff') AND jurisdiction_id IS NOT NULL)")
_NEW = _OLD + " OR (role = 'open311_client')"


def _replace(check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table (api_keys has no
    # triggers, and its indexes are recreated).
    with op.batch_alter_table('api_keys', recreate='always') as batch_op:
        batch_op.drop_constraint(op.f('ck_api_keys_role_scope'), type_='check')
        batch_op.create_check_constraint('role_scope', check)


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    # The old schema has no such role: its keys cannot be kept.
    op.execute("DELETE FROM api_keys WHERE role = 'open311_client'")
    _replace(_OLD)
