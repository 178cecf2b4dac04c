"""A casebook member's own one-time transition costs (issue 13).

A consolidation plan's moving and fit-out costs are borne by the people's member, not shared
on the proposal's allocation basis: each member's own one-time cost is kept beside its
figures and added to its first year. Existing members have none (0).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot add a constraint in place: batch mode copies the table.
    with op.batch_alter_table('casebook_members', recreate='auto') as batch:
        batch.add_column(sa.Column('own_one_time_cents', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.create_check_constraint('own_one_time', 'own_one_time_cents >= 0')


def downgrade() -> None:
    with op.batch_alter_table('casebook_members') as batch:
        batch.drop_constraint(op.f('ck_casebook_members_own_one_time'), type_='check')
        batch.drop_column('own_one_time_cents')
