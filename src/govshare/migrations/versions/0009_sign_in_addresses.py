"""Known sign-in addresses: where each user last signed in successfully (ADR 15).

Failed sign-ins from a known address (or with a signed device cookie) are throttled apart
from those of unknown places, so an attacker cannot lock the real user out.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 00:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_sign_in_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_addresses')),
    sa.UniqueConstraint('user_id', 'address_hash',
                        name=op.f('uq_sign_in_addresses_user_id_address_hash'))
    )
    op.create_index(op.f('ix_sign_in_addresses_last_at'), 'sign_in_addresses', ['last_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_addresses_last_at'), table_name='sign_in_addresses')
    op.drop_table('sign_in_addresses')
