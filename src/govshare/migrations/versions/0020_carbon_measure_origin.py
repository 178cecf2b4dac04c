"""Planned measures that another analysis wrote (issue 10 leftovers).

A consolidation plan of the property registry adds its emissions effect to the carbon plan as
one measure per member whose buildings it closes. ``origin`` names the analysis that wrote a
measure (``property.consolidation:office``): adding that plan again replaces its measures
instead of adding them twice. ``link`` is the page the measure came from (a path on this
site), so the carbon plan links back to it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('carbon_measures') as batch:
        batch.add_column(sa.Column('origin', sa.String(120), nullable=True))
        batch.add_column(sa.Column('link', sa.String(2000), nullable=True))
    op.create_index('ix_carbon_measures_origin', 'carbon_measures', ['origin'])


def downgrade() -> None:
    op.drop_index('ix_carbon_measures_origin', table_name='carbon_measures')
    with op.batch_alter_table('carbon_measures') as batch:
        batch.drop_column('link')
        batch.drop_column('origin')
