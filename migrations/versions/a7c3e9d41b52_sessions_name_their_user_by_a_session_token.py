"""sessions name their user by a session token

Revision ID: a7c3e9d41b52
Revises: e2e0f46931b0
Create Date: 2026-12-01 12:50:00.000000

user_account.session_token: what a session cookie names (Flask-Login's alternative id), drawn
anew on sign-out and on a password change, so older cookies name nobody. Existing users get a
token each; sessions signed in before the upgrade (they name the numeric id) end.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d41b52'
down_revision = 'e2e0f46931b0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    users = sa.table('user_account', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(
            users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(32))
        )
    # recreate on SQLite keeps AUTOINCREMENT (a deleted row's id is never given again)
    with op.batch_alter_table(
        'user_account', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_account_session_token'), ['session_token'])


def downgrade():
    with op.batch_alter_table(
        'user_account', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_account_session_token'), type_='unique')
        batch_op.drop_column('session_token')
