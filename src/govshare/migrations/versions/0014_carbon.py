"""Carbon accounting (issue 10): versioned emission-factor sets and GWP sets, emitting assets
under one member's operational control (and other members' claims on them), activity as a
series by period and pre-aggregated per source and per every key the factors depend on,
targets and planned measures. The built-in factor sets are loaded from package data by
``carbon.service.install_builtin_sets`` (the demo and ``govshare carbon factors install``), not
here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:29:45.277418
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('carbon_factor_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('edition', sa.String(length=100), nullable=False),
    sa.Column('publisher', sa.String(length=300), nullable=False),
    sa.Column('year_from', sa.Integer(), nullable=False),
    sa.Column('year_to', sa.Integer(), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_factor_sets')),
    sa.UniqueConstraint('name', name=op.f('uq_carbon_factor_sets_name'))
    )
    op.create_table('carbon_gwp',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gwp_set', sa.String(length=20), nullable=False),
    sa.Column('gas', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_gwp')),
    sa.UniqueConstraint('gwp_set', 'gas', name=op.f('uq_carbon_gwp_gwp_set_gas'))
    )
    op.create_table('carbon_factors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('factor_set_id', sa.Integer(), nullable=False),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=False),
    sa.Column('basis', sa.String(length=10), nullable=False),
    sa.Column('match_key', sa.String(length=80), nullable=False),
    sa.Column('gas', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('kg_per_unit', sa.Float(), nullable=False),
    sa.Column('source_table', sa.String(length=300), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.CheckConstraint("basis IN ('any', 'location', 'market')", name=op.f('ck_carbon_factors_basis')),
    sa.CheckConstraint('kg_per_unit >= 0', name=op.f('ck_carbon_factors_kg_per_unit')),
    sa.ForeignKeyConstraint(['factor_set_id'], ['carbon_factor_sets.id'], name=op.f('fk_carbon_factors_factor_set_id_carbon_factor_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_factors')),
    sa.UniqueConstraint('factor_set_id', 'activity', 'detail', 'basis', 'match_key', 'gas', name=op.f('uq_carbon_factors_factor_set_id_activity_detail_basis_match_key_gas'))
    )
    with op.batch_alter_table('carbon_factors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carbon_factors_factor_set_id'), ['factor_set_id'], unique=False)

    op.create_table('carbon_rollup',
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('boundary', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sector', sa.String(length=30), nullable=False),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=False),
    sa.Column('subregion', sa.String(length=10), nullable=False),
    sa.Column('utility', sa.String(length=80), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('sources', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_carbon_rollup_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('jurisdiction_id', 'boundary', 'year', 'sector', 'activity', 'detail', 'subregion', 'utility', name=op.f('pk_carbon_rollup'))
    )
    op.create_table('carbon_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('boundary', sa.String(length=20), nullable=False),
    sa.Column('source_domain', sa.String(length=40), nullable=False),
    sa.Column('source_key', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('sector', sa.String(length=30), nullable=False),
    sa.Column('subregion', sa.String(length=10), nullable=False),
    sa.Column('utility', sa.String(length=80), nullable=False),
    sa.Column('zip', sa.String(length=10), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('property_type', sa.String(length=100), nullable=True),
    sa.Column('gross_floor_area_ft2', sa.Float(), nullable=True),
    sa.Column('net_metered', sa.Boolean(), nullable=False),
    sa.Column('published_t_co2e', sa.Float(), nullable=True),
    sa.Column('published_year', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("boundary IN ('government', 'community')", name=op.f('ck_carbon_sources_boundary')),
    sa.CheckConstraint("sector IN ('buildings', 'streetlights', 'water_wastewater', 'vehicle_fleet', 'transit_fleet', 'equipment', 'solid_waste', 'other')", name=op.f('ck_carbon_sources_sector')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_carbon_sources_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_sources')),
    sa.UniqueConstraint('source_domain', 'source_key', name=op.f('uq_carbon_sources_source_domain_source_key'))
    )
    with op.batch_alter_table('carbon_sources', schema=None) as batch_op:
        batch_op.create_index('ix_carbon_sources_jurisdiction', ['jurisdiction_id', 'boundary'], unique=False)

    op.create_table('carbon_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=True),
    sa.Column('base_year', sa.Integer(), nullable=False),
    sa.Column('target_year', sa.Integer(), nullable=False),
    sa.Column('reduction_pct', sa.Float(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reduction_pct >= 0 AND reduction_pct <= 100', name=op.f('ck_carbon_targets_reduction')),
    sa.CheckConstraint('target_year > base_year', name=op.f('ck_carbon_targets_years')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_carbon_targets_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_carbon_targets_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_targets'))
    )
    with op.batch_alter_table('carbon_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carbon_targets_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carbon_targets_region_id'), ['region_id'], unique=False)

    op.create_table('carbon_activity',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['carbon_sources.id'], name=op.f('fk_carbon_activity_source_id_carbon_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'year', 'activity', 'detail', name=op.f('pk_carbon_activity'))
    )
    op.create_table('carbon_activity_periods',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('quantity_in', sa.Float(), nullable=False),
    sa.Column('unit_in', sa.String(length=20), nullable=False),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_carbon_activity_periods_period_order')),
    sa.ForeignKeyConstraint(['source_id'], ['carbon_sources.id'], name=op.f('fk_carbon_activity_periods_source_id_carbon_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_activity_periods'))
    )
    with op.batch_alter_table('carbon_activity_periods', schema=None) as batch_op:
        batch_op.create_index('ix_carbon_periods_source', ['source_id', 'activity', 'period_start'], unique=False)

    op.create_table('carbon_measures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('t_co2e_per_year', sa.Float(), nullable=False),
    sa.Column('cost_cents', sa.BigInteger(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('t_co2e_per_year >= 0', name=op.f('ck_carbon_measures_t_co2e')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_carbon_measures_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['carbon_sources.id'], name=op.f('fk_carbon_measures_source_id_carbon_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_measures'))
    )
    with op.batch_alter_table('carbon_measures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carbon_measures_jurisdiction_id'), ['jurisdiction_id'], unique=False)

    op.create_table('carbon_source_claims',
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_carbon_source_claims_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['carbon_sources.id'], name=op.f('fk_carbon_source_claims_source_id_carbon_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'jurisdiction_id', name=op.f('pk_carbon_source_claims'))
    )


def downgrade() -> None:
    op.drop_table('carbon_source_claims')
    with op.batch_alter_table('carbon_measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carbon_measures_jurisdiction_id'))

    op.drop_table('carbon_measures')
    with op.batch_alter_table('carbon_activity_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_carbon_periods_source')

    op.drop_table('carbon_activity_periods')
    op.drop_table('carbon_activity')
    with op.batch_alter_table('carbon_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carbon_targets_region_id'))
        batch_op.drop_index(batch_op.f('ix_carbon_targets_jurisdiction_id'))

    op.drop_table('carbon_targets')
    with op.batch_alter_table('carbon_sources', schema=None) as batch_op:
        batch_op.drop_index('ix_carbon_sources_jurisdiction')

    op.drop_table('carbon_sources')
    op.drop_table('carbon_rollup')
    with op.batch_alter_table('carbon_factors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carbon_factors_factor_set_id'))

    op.drop_table('carbon_factors')
    op.drop_table('carbon_gwp')
    op.drop_table('carbon_factor_sets')
