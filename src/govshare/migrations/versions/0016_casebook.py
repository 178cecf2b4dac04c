"""Casebook: shared-service proposals (and their scenarios), each member's figures, and the
costs members actually had each year (projected vs realized).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 23:44:34.667755
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('casebook_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source_kind', sa.String(length=30), nullable=False),
    sa.Column('source_params', sa.JSON(), nullable=False),
    sa.Column('source_link', sa.String(length=500), nullable=True),
    sa.Column('source_note', sa.Text(), nullable=True),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('horizon_years', sa.Integer(), nullable=False),
    sa.Column('discount_rate', sa.Float(), nullable=False),
    sa.Column('discount_source', sa.String(length=300), nullable=False),
    sa.Column('ramp_pct', sa.JSON(), nullable=False),
    sa.Column('one_time_cents', sa.JSON(), nullable=False),
    sa.Column('shared_annual_cents', sa.BigInteger(), nullable=False),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('blend', sa.JSON(), nullable=False),
    sa.Column('tco2e_per_year', sa.Float(), nullable=True),
    sa.Column('tco2e_source', sa.String(length=300), nullable=True),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('adopted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("basis IN ('equal', 'population', 'headcount', 'usage', 'assessed_value', 'blend')", name=op.f('ck_casebook_proposals_basis')),
    sa.CheckConstraint("service IN ('it', 'payroll', 'procurement', 'fleet_maintenance', 'facilities', 'front_office', 'consolidation', 'sited_center', 'fleet_pool', 'other')", name=op.f('ck_casebook_proposals_service')),
    sa.CheckConstraint("source_kind IN ('entered', 'consolidation', 'sited_center', 'fleet_pool')", name=op.f('ck_casebook_proposals_source_kind')),
    sa.CheckConstraint("status IN ('draft', 'adopted', 'withdrawn')", name=op.f('ck_casebook_proposals_status')),
    sa.CheckConstraint('horizon_years >= 1', name=op.f('ck_casebook_proposals_horizon')),
    sa.CheckConstraint('shared_annual_cents >= 0', name=op.f('ck_casebook_proposals_shared_annual')),
    sa.ForeignKeyConstraint(['parent_id'], ['casebook_proposals.id'], name=op.f('fk_casebook_proposals_parent_id_casebook_proposals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_casebook_proposals_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casebook_proposals'))
    )
    with op.batch_alter_table('casebook_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casebook_proposals_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_casebook_proposals_region_id'), ['region_id'], unique=False)

    op.create_table('casebook_actuals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('actual_cents', sa.BigInteger(), nullable=False),
    sa.Column('billed_cents', sa.BigInteger(), nullable=True),
    sa.Column('usage', sa.Float(), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('actual_cents >= 0', name=op.f('ck_casebook_actuals_actual')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_casebook_actuals_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['casebook_proposals.id'], name=op.f('fk_casebook_actuals_proposal_id_casebook_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casebook_actuals')),
    sa.UniqueConstraint('proposal_id', 'jurisdiction_id', 'year', name=op.f('uq_casebook_actuals_proposal_id_jurisdiction_id_year'))
    )
    with op.batch_alter_table('casebook_actuals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casebook_actuals_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_casebook_actuals_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('casebook_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('ftes', sa.Float(), nullable=True),
    sa.Column('staff_cents', sa.BigInteger(), nullable=False),
    sa.Column('contracts_cents', sa.BigInteger(), nullable=False),
    sa.Column('systems_cents', sa.BigInteger(), nullable=False),
    sa.Column('space_cents', sa.BigInteger(), nullable=False),
    sa.Column('other_cents', sa.BigInteger(), nullable=False),
    sa.Column('direct_cents', sa.BigInteger(), nullable=False),
    sa.Column('population', sa.BigInteger(), nullable=True),
    sa.Column('headcount', sa.Float(), nullable=True),
    sa.Column('usage', sa.Float(), nullable=True),
    sa.Column('assessed_value_cents', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.CheckConstraint('staff_cents >= 0 AND contracts_cents >= 0 AND systems_cents >= 0 AND space_cents >= 0 AND other_cents >= 0 AND direct_cents >= 0', name=op.f('ck_casebook_members_money')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_casebook_members_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['casebook_proposals.id'], name=op.f('fk_casebook_members_proposal_id_casebook_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casebook_members')),
    sa.UniqueConstraint('proposal_id', 'jurisdiction_id', name=op.f('uq_casebook_members_proposal_id_jurisdiction_id'))
    )
    with op.batch_alter_table('casebook_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casebook_members_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_casebook_members_proposal_id'), ['proposal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('casebook_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casebook_members_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_casebook_members_jurisdiction_id'))

    op.drop_table('casebook_members')
    with op.batch_alter_table('casebook_actuals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casebook_actuals_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_casebook_actuals_jurisdiction_id'))

    op.drop_table('casebook_actuals')
    with op.batch_alter_table('casebook_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casebook_proposals_region_id'))
        batch_op.drop_index(batch_op.f('ix_casebook_proposals_parent_id'))

    op.drop_table('casebook_proposals')
