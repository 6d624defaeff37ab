"""companies keep their schedule

Revision ID: e7f0b3c4d5a6
Revises: a8b9c0d1e2f3
Create Date: 2026-12-01 19:00:00.000000

qbo_sync_company.schedule_*: per company, off, every N minutes or daily at a local time; the
next firing (UTC), a generation that grows whenever the schedule is armed or changed (a job of an
older generation does nothing), and what the last firing did. Every company starts off. The
server defaults stay: on SQLite, dropping them would rebuild the table the others refer to.
"""
from alembic import op
import sqlalchemy as sa

import qbo_sync.models  # noqa: F401 - types used by the columns


# revision identifiers, used by Alembic.
revision = 'e7f0b3c4d5a6'
down_revision = 'a8b9c0d1e2f3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qbo_sync_company', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_kind', sa.Enum('off', 'every', 'daily', name='schedulekind', native_enum=False, length=16), nullable=False, server_default='off'))
        batch_op.add_column(sa.Column('schedule_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('schedule_daily_at', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('schedule_next_at', qbo_sync.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('schedule_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('schedule_fired_at', qbo_sync.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('schedule_outcome', sa.Enum('started', 'skipped', 'waiting', name='firingoutcome', native_enum=False, length=16), nullable=True))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+ too): a batch would rebuild the table,
    # which the profiles, runs and documents refer to.
    for column in ('schedule_outcome', 'schedule_fired_at', 'schedule_generation',
                   'schedule_next_at', 'schedule_daily_at', 'schedule_minutes', 'schedule_kind'):
        op.drop_column('qbo_sync_company', column)
