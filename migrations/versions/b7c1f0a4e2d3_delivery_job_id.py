"""delivery job id

Revision ID: b7c1f0a4e2d3
Revises: 57260dbc4098
Create Date: 2026-11-23 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1f0a4e2d3'
down_revision = '57260dbc4098'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('job_id')
