"""Cancelling or moving posts one second before they are due (scenario f): a cancelled
post never arrives; a moved one arrives once, at its new time only. Should a worker have
one already (a busy machine), the change is refused with 409 and the post arrives once, at
its old time: never twice."""

import pytest

from tests.reliability.harness import FAST, dump, exactly_once, running_stack
from tests.reliability.scenarios import cancel_or_move_late

pytestmark = pytest.mark.slow


def test_posts_cancelled_or_moved_a_second_before_their_time(tmp_path, shared, receiver):
    with running_stack(tmp_path / "stack", env=FAST, shared=shared) as stack:
        result = cancel_or_move_late(stack, receiver, n=18, controls=3, per_second=6,
                                     moved_by=3)
    wrong = exactly_once(result)
    if result["refused"]:
        wrong.append(f"{result['refused']} cancels or moves refused")
    if result["moved_early"]:
        wrong.append(f"{result['moved_early']} moved posts arrived before their new time")
    assert not wrong, f"{wrong}\n{dump(result)}"
