"""Fixtures for the fault-injection scenarios: a receiving platform, an SMTP inbox, and
whole stacks (see harness.running_stack) sharing one released database per test run."""

import pytest

from tests.reliability.harness import Mailbox, Receiver


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id):
    """A directory all pytest-xdist workers of this run share (for the released database)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox():
    inbox = Mailbox().start()
    yield inbox
    inbox.stop()
