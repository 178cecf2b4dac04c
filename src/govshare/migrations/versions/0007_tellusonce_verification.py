"""Tell us once: a report reaches agencies only once the reporter's identity is assured.

Reports get a verification state (awaiting, verified, rejected), the sealed details staff
confirm them with, and who verified them, when and how. Reports made before this were sent
at once; they are entered as verified, by "before verification was required".

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 23:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tellusonce_reports') as batch:
        batch.add_column(sa.Column('verification', sa.String(length=30), nullable=False,
                                   server_default='verified'))
        batch.add_column(sa.Column('verification_enc', sa.Text(), nullable=True))
        batch.add_column(sa.Column('verification_method', sa.String(length=200),
                                   nullable=True))
        batch.add_column(sa.Column('verified_by', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            op.f('ck_tellusonce_reports_verification'), "verification IN ('awaiting_verification', 'verified', 'rejected')")
        batch.create_index(op.f('ix_tellusonce_reports_verification'), ['verification'])
    op.execute("UPDATE tellusonce_reports SET verification_method = 'before verification was "
               "required', verified_at = created_at, verified_by = recorded_by")
    with op.batch_alter_table('tellusonce_reports') as batch:
        batch.alter_column('verification', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('tellusonce_reports') as batch:
        batch.drop_index(op.f('ix_tellusonce_reports_verification'))
        batch.drop_constraint(op.f('ck_tellusonce_reports_verification'), type_='check')
        batch.drop_column('verified_at')
        batch.drop_column('verified_by')
        batch.drop_column('verification_method')
        batch.drop_column('verification_enc')
        batch.drop_column('verification')
