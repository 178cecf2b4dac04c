"""Front office: service catalogue, owners by location, journeys, service requests and
their updates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:04:42.945442
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journeys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('life_event', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_journeys_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journeys')),
    sa.UniqueConstraint('region_id', 'life_event', name=op.f('uq_journeys_region_id_life_event'))
    )
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('eligibility', sa.Text(), nullable=True),
    sa.Column('group', sa.String(length=100), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('life_events', sa.JSON(), nullable=False),
    sa.Column('target_groups', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('accepts_requests', sa.Boolean(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_services_region_id_regions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('region_id', 'code', name=op.f('uq_services_region_id_code'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_region_id'), ['region_id'], unique=False)

    op.create_table('service_owners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_service_owners_jurisdiction_id_jurisdictions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_owners_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_owners')),
    sa.UniqueConstraint('service_id', 'jurisdiction_id', name=op.f('uq_service_owners_service_id_jurisdiction_id'))
    )
    with op.batch_alter_table('service_owners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_owners_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_owners_service_id'), ['service_id'], unique=False)

    op.create_table('service_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_notes', sa.Text(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('address_id', sa.String(length=100), nullable=True),
    sa.Column('zipcode', sa.String(length=10), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('media_url', sa.String(length=500), nullable=True),
    sa.Column('contact_first_name', sa.String(length=100), nullable=True),
    sa.Column('contact_last_name', sa.String(length=100), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('device_id', sa.String(length=100), nullable=True),
    sa.Column('account_id', sa.String(length=100), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('web', 'open311', 'phone', 'mail', 'walk_in', 'email')", name=op.f('ck_service_requests_channel')),
    sa.CheckConstraint("status IN ('submitted', 'acknowledged', 'in_progress', 'on_hold', 'resolved', 'duplicate', 'declined')", name=op.f('ck_service_requests_status')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['service_requests.id'], name=op.f('fk_service_requests_duplicate_of_id_service_requests')),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_service_requests_jurisdiction_id_jurisdictions')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_service_requests_region_id_regions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_requests_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_service_requests_public_id')),
    sa.UniqueConstraint('token', name=op.f('uq_service_requests_token'))
    )
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_requests_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index('ix_service_requests_jurisdiction_status', ['jurisdiction_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_service_id'), ['service_id'], unique=False)
        batch_op.create_index('ix_service_requests_service_requested', ['service_id', 'requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_requests_updated_at'), ['updated_at'], unique=False)

    op.create_table('request_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_value', sa.String(length=200), nullable=True),
    sa.Column('to_value', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_request_updates_request_id_service_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_updates'))
    )
    with op.batch_alter_table('request_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_updates_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_updates_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('request_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_updates_request_id'))
        batch_op.drop_index(batch_op.f('ix_request_updates_at'))

    op.drop_table('request_updates')
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_requests_updated_at'))
        batch_op.drop_index('ix_service_requests_service_requested')
        batch_op.drop_index(batch_op.f('ix_service_requests_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_requests_requested_at'))
        batch_op.drop_index('ix_service_requests_jurisdiction_status')
        batch_op.drop_index(batch_op.f('ix_service_requests_jurisdiction_id'))

    op.drop_table('service_requests')
    with op.batch_alter_table('service_owners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_owners_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_owners_jurisdiction_id'))

    op.drop_table('service_owners')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_region_id'))

    op.drop_table('services')
    op.drop_table('journeys')
