"""unpublish: Delivery.action, Schedule.unpublish_local/fold; delivery status `unknown`

Revision ID: f4a8c2e6b0d3
Revises: a7d3f9b1c5e2
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f4a8c2e6b0d3'
down_revision = 'a7d3f9b1c5e2'
branch_labels = None
depends_on = None

OLD_STATUSES = ("status IN ('pending', 'queued', 'publishing', 'published', 'retrying', "
                "'failed', 'cancelled')")
NEW_STATUSES = ("status IN ('pending', 'queued', 'publishing', 'published', 'retrying', "
                "'failed', 'cancelled', 'unknown')")


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=16), nullable=False,
                                      server_default='publish'))
        batch_op.drop_constraint(op.f('ck_delivery_status'), type_='check')
        batch_op.create_check_constraint('status', NEW_STATUSES)
        batch_op.create_check_constraint('action', "action IN ('publish', 'unpublish')")
        # A removal is its own row beside the publication it removes.
        batch_op.drop_constraint('uq_delivery_occurrence', type_='unique')
        batch_op.create_unique_constraint('uq_delivery_occurrence',
                                          ['schedule_id', 'channel_id', 'due_at', 'action'])
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unpublish_local', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('unpublish_fold', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_column('unpublish_fold')
        batch_op.drop_column('unpublish_local')
    op.execute("DELETE FROM delivery WHERE action = 'unpublish'")
    op.execute("UPDATE delivery SET status = 'failed' WHERE status = 'unknown'")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_constraint('uq_delivery_occurrence', type_='unique')
        batch_op.create_unique_constraint('uq_delivery_occurrence',
                                          ['schedule_id', 'channel_id', 'due_at'])
        batch_op.drop_constraint(op.f('ck_delivery_action'), type_='check')
        batch_op.drop_constraint(op.f('ck_delivery_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUSES)
        batch_op.drop_column('action')
