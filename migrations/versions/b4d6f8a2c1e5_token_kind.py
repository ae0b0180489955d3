"""api token kind (api or calendar feed)

Revision ID: b4d6f8a2c1e5
Revises: c7e2a9f4b1d8
Create Date: 2026-12-03 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4d6f8a2c1e5'
down_revision = 'c7e2a9f4b1d8'
branch_labels = None
depends_on = None


def upgrade():
    # Every existing token opens the API, as before.
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), nullable=False,
                                      server_default='api'))


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('kind')
