"""template details: text, channels, per-channel texts, tags, priority, campaign,
recurrence, favourites and use counts

Revision ID: a7d3f9b1c5e2
Revises: e9b2c4d6f8a1
Create Date: 2026-12-04 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3f9b1c5e2'
down_revision = 'e9b2c4d6f8a1'
branch_labels = None
depends_on = None


def upgrade():
    # Required columns are added nullable, filled for existing rows, then made required
    # (the models declare no server defaults).
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('channel_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('overrides', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recurrence', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('favorite', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('use_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE template SET description = '', title = '', channel_ids = '[]', "
               "overrides = '{}', tags = '[]', priority = 5, favorite = false, "
               "use_count = 0, updated_at = created_at")
    with op.batch_alter_table('template', schema=None) as batch_op:
        for name, kind in (('description', sa.Text()), ('title', sa.String(length=200)),
                           ('channel_ids', sa.JSON()), ('overrides', sa.JSON()),
                           ('tags', sa.JSON()), ('priority', sa.Integer()),
                           ('favorite', sa.Boolean()), ('use_count', sa.Integer()),
                           ('updated_at', sa.DateTime())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_template_campaign_id_campaign'),
                                    'campaign', ['campaign_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_template_created_by_user'),
                                    'user', ['created_by'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint('priority', 'priority BETWEEN 1 AND 10')


def downgrade():
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.drop_constraint('priority', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_template_created_by_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_template_campaign_id_campaign'),
                                 type_='foreignkey')
        for name in ('updated_at', 'created_by', 'last_used_at', 'use_count', 'favorite',
                     'recurrence', 'campaign_id', 'priority', 'tags', 'overrides',
                     'channel_ids', 'title', 'description'):
            batch_op.drop_column(name)
