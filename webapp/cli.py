"""flask --app webapp users create | tokens create | scheduler | plan"""

import click
from flask import Flask
from sqlalchemy import select

from .errors import ValidationError
from .extensions import db
from .models import ROLES, ApiToken, User


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(plan_command)


@click.group(help="Manage users.")
def users():
    pass


@users.command("create")
@click.argument("email")
@click.option("--password", required=True, help="The user's password (8 characters or more).")
@click.option("--workspace", "workspace_name", default="Default",
              help="Workspace to join (created if new).")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
def create_user(email, password, workspace_name, role, timezone):
    """Create a user (or add an existing one to a workspace)."""
    from .services.accounts import create_user as create

    existed = db.session.scalar(select(User.id).where(
        User.email == (email or "").strip().lower())) is not None
    try:
        user, workspace = create(email, password, workspace_name, role, timezone)
    except ValidationError as exc:
        problems = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
        raise click.ClickException(problems or exc.message) from None
    click.echo(f"{user.email} is {role} of workspace '{workspace.name}'.")
    if existed:
        click.echo("(The user already existed: the password was left unchanged.)")


@click.group(help="Manage API tokens.")
def tokens():
    pass


@tokens.command("create")
@click.argument("email")
@click.option("--workspace", "workspace_name", default=None,
              help="Workspace of the token (needed when the user is in several).")
@click.option("--name", default="cli")
def create_token(email, workspace_name, name):
    """Print a new API token (shown once) on the last line."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    memberships = [m for m in user.memberships
                   if workspace_name is None or m.workspace.name == workspace_name]
    if not memberships:
        raise click.ClickException(f"{email} is not in workspace '{workspace_name}'")
    if len(memberships) > 1:
        names = ", ".join(m.workspace.name for m in memberships)
        raise click.ClickException(f"{email} is in several workspaces ({names}): "
                                   "choose one with --workspace")
    row, plain = ApiToken.issue(user, memberships[0].workspace, name)
    db.session.add(row)
    db.session.commit()
    click.echo(f"Token for {email} in '{memberships[0].workspace.name}' (shown once):")
    click.echo(plain)


@click.command("scheduler")
@click.option("--interval", default=0.2, show_default=True, type=float,
              help="Seconds between polls for due jobs.")
def scheduler_command(interval):
    """Run the scheduler: rq-scheduler plus the planner."""
    from .engine.scheduler import run

    run(interval)


@click.command("plan")
def plan_command():
    """Run one planner pass now (normally the scheduler does this every few seconds)."""
    from .engine.planner import plan

    click.echo(plan())


