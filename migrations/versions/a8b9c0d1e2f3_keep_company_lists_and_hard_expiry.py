"""keep each company's lists and its grant's hard expiry

Revision ID: a8b9c0d1e2f3
Revises: d5e8a1b2c3f4
Create Date: 2026-12-01 19:00:00.000000

qbo_sync_company_list: the chart of accounts, items and payment methods of each company as last
read from QuickBooks (on connect and on request), so a view of the page reads nothing there.
qbo_sync_company.refresh_token_hard_expires_at: Intuit's hard cap on the grant, for the page's
warning before it ends.
"""
from alembic import op
import sqlalchemy as sa

from qbo_sync.models import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'a8b9c0d1e2f3'
down_revision = 'd5e8a1b2c3f4'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ALTER TABLE on both databases: no rebuild of a table other tables refer to.
    op.add_column('qbo_sync_company', sa.Column('refresh_token_hard_expires_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'qbo_sync_company_list',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('Account', 'Item', 'PaymentMethod', name='listkind', native_enum=False, length=16, create_constraint=False), nullable=False),
        sa.Column('entries', sa.JSON(), nullable=False),
        sa.Column('read_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['qbo_sync_company.id'], name=op.f('fk_qbo_sync_company_list_company_id_qbo_sync_company')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_qbo_sync_company_list')),
        sa.UniqueConstraint('company_id', 'kind', name=op.f('uq_qbo_sync_company_list_company_id_kind')),
    )


def downgrade():
    op.drop_table('qbo_sync_company_list')
    op.drop_column('qbo_sync_company', 'refresh_token_hard_expires_at')  # SQLite 3.35 and later
