"""lifecycle webhooks and their delivery log

Revision ID: a3c9e5f1b7d2
Revises: e1a7c3b9d2f4
Create Date: 2026-12-03 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c9e5f1b7d2'
down_revision = 'e1a7c3b9d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'hook',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=True),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'],
                                name=op.f('fk_hook_workspace_id_workspace'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['user.id'],
                                name=op.f('fk_hook_created_by_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hook')),
    )
    with op.batch_alter_table('hook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hook_workspace_id'), ['workspace_id'], unique=False)

    op.create_table(
        'hook_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hook_id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=32), nullable=False),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('response_status', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['hook_id'], ['hook.id'],
                                name=op.f('fk_hook_call_hook_id_hook'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'],
                                name=op.f('fk_hook_call_workspace_id_workspace'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hook_call')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_hook_call_idempotency_key')),
    )
    with op.batch_alter_table('hook_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hook_call_hook_id'), ['hook_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hook_call_workspace_id'), ['workspace_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_hook_call_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_hook_call_created_at'), ['created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('hook_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hook_call_created_at'))
        batch_op.drop_index(batch_op.f('ix_hook_call_status'))
        batch_op.drop_index(batch_op.f('ix_hook_call_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_hook_call_hook_id'))
    op.drop_table('hook_call')
    with op.batch_alter_table('hook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hook_workspace_id'))
    op.drop_table('hook')
