"""Fixtures for the fault-injection scenarios: a receiving platform, an SMTP inbox, and
whole stacks (see harness.running_stack, and `shared` in tests/conftest.py)."""

import pytest

from tests.reliability.harness import Mailbox, Receiver


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
