"""journal an operation sent alone

Revision ID: c4d1f7a2e9b3
Revises: a7c3e9d41b52
Create Date: 2026-12-01 16:20:00.000000

qbo_sync_document.op_single: the writer groups operations as it sends them (a batch while
QuickBooks' batch window has room, single requests beside it), and journals the choice before
the request goes: a batch by its id, a single by this flag. An operation with neither was never
sent, so a resumed run may still put it into a batch.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d1f7a2e9b3'
down_revision = 'a7c3e9d41b52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qbo_sync_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('op_single', sa.Boolean(), nullable=True))
    # Operations journaled by an earlier version and still unanswered may have gone alone:
    # resent alone, never inside a batch.
    docs = sa.table(
        'qbo_sync_document',
        sa.column('op_request_id', sa.String),
        sa.column('op_batch_id', sa.String),
        sa.column('op_single', sa.Boolean),
    )
    op.get_bind().execute(
        docs.update()
        .where(docs.c.op_request_id.is_not(None), docs.c.op_batch_id.is_(None))
        .values(op_single=True)
    )


def downgrade():
    with op.batch_alter_table('qbo_sync_document', schema=None) as batch_op:
        batch_op.drop_column('op_single')
