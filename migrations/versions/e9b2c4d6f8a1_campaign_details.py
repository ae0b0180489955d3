"""campaign details: description, status, tags, goal, dates; one name per workspace

Revision ID: e9b2c4d6f8a1
Revises: d8f1a3c5e7b9
Create Date: 2026-12-03 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9b2c4d6f8a1'
down_revision = 'd8f1a3c5e7b9'
branch_labels = None
depends_on = None


def upgrade():
    # The columns the models require are added nullable, filled for existing rows, then
    # made required (the models declare no server defaults).
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('target_post_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('start_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('end_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE campaign SET description = '', status = 'active', tags = '[]', "
               "updated_at = created_at")
    # Campaigns had no page to name them; a duplicate name gets its id appended so that
    # names can be unique from now on.
    op.execute("UPDATE campaign SET name = substr(name, 1, 100) || ' (' || id || ')' "
               "WHERE EXISTS (SELECT 1 FROM campaign AS other WHERE "
               "other.workspace_id = campaign.workspace_id AND other.name = campaign.name "
               "AND other.id < campaign.id)")
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.alter_column('description', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('status', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('tags', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_check_constraint(
            'status', "status IN ('active', 'paused', 'completed', 'archived')")
        batch_op.create_unique_constraint(batch_op.f('uq_campaign_workspace_id'),
                                          ['workspace_id', 'name'])


def downgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_campaign_workspace_id'), type_='unique')
        batch_op.drop_constraint('status', type_='check')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('end_date')
        batch_op.drop_column('start_date')
        batch_op.drop_column('target_post_count')
        batch_op.drop_column('tags')
        batch_op.drop_column('status')
        batch_op.drop_column('description')
