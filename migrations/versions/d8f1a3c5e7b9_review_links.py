"""client review links

Revision ID: d8f1a3c5e7b9
Revises: a3c9e5f1b7d2
Create Date: 2026-12-03 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8f1a3c5e7b9'
down_revision = 'a3c9e5f1b7d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'review_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('approval_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['approval_id'], ['approval.id'],
                                name=op.f('fk_review_link_approval_id_approval'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by'], ['user.id'],
                                name=op.f('fk_review_link_created_by_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['post_id'], ['post.id'],
                                name=op.f('fk_review_link_post_id_post'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'],
                                name=op.f('fk_review_link_workspace_id_workspace'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_link')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_review_link_token_hash')),
    )
    with op.batch_alter_table('review_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_link_post_id'), ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('review_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_link_post_id'))
    op.drop_table('review_link')
