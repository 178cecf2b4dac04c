"""Whether an asset's space is interchangeable within its use (issue 9 §7).

A justice center filed as an office, or a lab, cannot take in another office's occupants nor
move into an ordinary office: consolidation leaves such assets out and says so. Every
existing asset stays interchangeable (the old behavior) until its owner says otherwise.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assets') as batch:
        batch.add_column(sa.Column('interchangeable', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('assets') as batch:
        batch.drop_column('interchangeable')
