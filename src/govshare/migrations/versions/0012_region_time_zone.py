"""Regions get a time zone: every date and time is shown in it (core.formats).

An IANA name; the regions that exist get America/Los_Angeles (the demo region's, and the
default for a new one), which an admin changes on /admin or with
``govshare region set-time-zone``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 23:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64),
                                      server_default='America/Los_Angeles', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
