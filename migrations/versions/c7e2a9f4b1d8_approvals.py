"""approvals: the workspace setting and the requests

Revision ID: c7e2a9f4b1d8
Revises: d5f2b8c3a7e1
Create Date: 2026-12-03 12:30:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c7e2a9f4b1d8'
down_revision = 'd5f2b8c3a7e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval', sa.String(length=16), nullable=False,
                                      server_default='none'))
        batch_op.create_check_constraint('approval', "approval IN ('none', 'required')")
    op.create_table(
        'approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_by', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_via', sa.String(length=120), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('reminded_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn', 'expired')",
                           name=op.f('ck_approval_status')),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'],
                                name=op.f('fk_approval_workspace_id_workspace'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['post_id'], ['post.id'], name=op.f('fk_approval_post_id_post'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by'], ['user.id'],
                                name=op.f('fk_approval_requested_by_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['decided_by'], ['user.id'],
                                name=op.f('fk_approval_decided_by_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approval')),
    )
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_post_id'), ['post_id'], unique=False)
        batch_op.create_index('ix_approval_workspace_status_requested',
                              ['workspace_id', 'status', 'requested_at'], unique=False)


def downgrade():
    op.drop_table('approval')
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_constraint('approval', type_='check')
        batch_op.drop_column('approval')
