"""invitations, and when each membership began

Revision ID: e1a7c3b9d2f4
Revises: f2b8d4c1a9e3
Create Date: 2026-12-03 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1a7c3b9d2f4'
down_revision = 'f2b8d4c1a9e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('invited_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'approver', 'admin')",
                           name=op.f('ck_invitation_role')),
        sa.ForeignKeyConstraint(['invited_by'], ['user.id'],
                                name=op.f('fk_invitation_invited_by_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'],
                                name=op.f('fk_invitation_workspace_id_workspace'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash')),
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_workspace_id'), ['workspace_id'],
                              unique=False)

    # Existing memberships began, at the latest, when their account was made (UTC, as
    # every instant is stored): a better "joined" than the time of the upgrade.
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE membership SET created_at = (SELECT "user".created_at FROM "user" '
               'WHERE "user".id = membership.user_id)')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('created_at')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_workspace_id'))
    op.drop_table('invitation')
