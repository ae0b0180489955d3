"""`flask users create` and `flask tokens create`, run through Flask's CLI runner against the
real database, and the token they print used against the real API."""

import hashlib
import re

import pytest
from sqlalchemy import select, text

from webapp.extensions import db
from webapp.models import ApiToken, Membership, User, Workspace


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        result = runner.invoke(args=list(args))
        db.session.remove()  # see what the command committed, not a cached copy
        return result

    return invoke


def membership(email, workspace):
    return db.session.scalar(select(Membership).join(User).join(Workspace).where(
        User.email == email, Workspace.name == workspace))


def test_users_create_makes_the_user_and_the_workspace(cli):
    result = cli("users", "create", "Ann@Example.com", "--password", "long enough pw",
                 "--workspace", "Newsroom", "--role", "editor")
    assert result.exit_code == 0, result.output
    assert "ann@example.com is editor of workspace 'Newsroom'" in result.output
    user = db.session.scalar(select(User).where(User.email == "ann@example.com"))
    assert user is not None and user.check_password("long enough pw")
    assert "long enough pw" not in user.password_hash
    assert membership("ann@example.com", "Newsroom").role == "editor"


def test_users_create_defaults_and_joining_a_second_workspace(cli):
    assert cli("users", "create", "bo@example.com", "--password", "password1").exit_code == 0
    assert membership("bo@example.com", "Default").role == "admin"
    again = cli("users", "create", "bo@example.com", "--password", "a different one",
                "--workspace", "Second", "--role", "viewer")
    assert again.exit_code == 0, again.output
    assert "password was left unchanged" in again.output
    user = db.session.scalar(select(User).where(User.email == "bo@example.com"))
    assert user.check_password("password1") and not user.check_password("a different one")
    assert membership("bo@example.com", "Second").role == "viewer"
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


@pytest.mark.parametrize("args, words", [
    (["not-an-email", "--password", "password1"], "email"),
    (["c@example.com", "--password", "short"], "at least 8"),
    (["c@example.com", "--password", "password1", "--role", "owner"], "owner"),
    (["c@example.com", "--password", "password1", "--timezone", "Mars/Base"], "Mars/Base"),
    (["c@example.com", "--password", "password1", "--workspace", "  "], "workspace"),
    (["c@example.com", "--password", "password1", "--workspace", "w" * 121], "120"),
    (["c@example.com"], "--password"),
])
def test_users_create_refuses_bad_input_cleanly(cli, args, words):
    result = cli("users", "create", *args)
    assert result.exit_code != 0
    assert words in result.output
    # A clean refusal (click's error message and exit status), not a crash.
    assert isinstance(result.exception, SystemExit), result.exception
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 0
    assert db.session.scalar(select(db.func.count()).select_from(Workspace)) == 0


def test_tokens_create_prints_a_working_token_alone_on_the_last_line(cli, client):
    cli("users", "create", "dee@example.com", "--password", "password1", "--workspace", "Acme")
    result = cli("tokens", "create", "DEE@example.com")
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[-1]
    assert token == token.strip() and re.fullmatch(r"[A-Za-z0-9_\-]{32,}", token)
    assert len(result.output.splitlines()) >= 2  # something explains it before the token

    response = client.get("/api/v1/channels", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    created = client.post("/api/v1/posts", json={"body": "via the CLI token"},
                          headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201  # an admin's token can write
    assert client.get("/api/v1/channels", headers={
        "Authorization": f"Bearer {token}x"}).status_code == 401


def test_only_a_hash_of_the_token_is_stored(cli, app):
    cli("users", "create", "eve@example.com", "--password", "password1")
    token = cli("tokens", "create", "eve@example.com").output.splitlines()[-1]
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # The token itself is nowhere in the database.
    for table in db.metadata.sorted_tables:
        for values in db.session.execute(text(f'SELECT * FROM "{table.name}"')):
            assert token not in " ".join(str(v) for v in values), table.name
    # Two tokens for the same user are different.
    second = cli("tokens", "create", "eve@example.com").output.splitlines()[-1]
    assert second != token


def test_tokens_create_needs_a_workspace_when_the_user_has_several(cli, client):
    cli("users", "create", "fay@example.com", "--password", "password1", "--workspace", "One")
    cli("users", "create", "fay@example.com", "--password", "password1", "--workspace", "Two",
        "--role", "viewer")
    ambiguous = cli("tokens", "create", "fay@example.com")
    assert ambiguous.exit_code != 0
    assert "several workspaces" in ambiguous.output and "--workspace" in ambiguous.output
    assert "One" in ambiguous.output and "Two" in ambiguous.output
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 0

    result = cli("tokens", "create", "fay@example.com", "--workspace", "Two")
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    # The token acts in workspace Two, where fay is a viewer.
    forbidden = client.post("/api/v1/posts", json={"body": "x"}, headers=headers)
    assert forbidden.status_code == 403
    row = db.session.scalar(select(ApiToken))
    assert row.workspace_id == db.session.scalar(
        select(Workspace.id).where(Workspace.name == "Two"))


@pytest.mark.parametrize("args, words", [
    (["nobody@example.com"], "no user"),
    (["gus@example.com", "--workspace", "Elsewhere"], "not in workspace 'Elsewhere'"),
])
def test_tokens_create_refuses_unknown_users_and_workspaces(cli, args, words):
    cli("users", "create", "gus@example.com", "--password", "password1")
    result = cli("tokens", "create", *args)
    assert result.exit_code != 0 and words in result.output
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 0
