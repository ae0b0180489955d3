"""DST (scenario g): the same posts made in three stacks whose processes run under
different TZ settings get identical UTC times, by docs/time.md's rule, and near-future
posts given as wall time + zone are published at the same instant by all three."""

import threading
from contextlib import ExitStack

import pytest

from tests.reliability.harness import FAST, dump, exactly_once, running_stack
from tests.reliability.scenarios import dst_three_zones

pytestmark = pytest.mark.slow

TZ_SETTINGS = ("UTC", "America/Los_Angeles", "Asia/Kolkata")


def test_dst_times_do_not_depend_on_the_servers_tz(tmp_path, shared, receiver):
    with ExitStack() as running:
        stacks, errors = {}, []

        def start(tz):
            try:
                stacks[tz] = running.enter_context(running_stack(
                    tmp_path / tz.replace("/", "_"), workers=1, env={**FAST, "TZ": tz},
                    shared=shared))
            except Exception as exc:  # reported below, after the others have started
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(tz,)) for tz in TZ_SETTINGS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        result = dst_three_zones({tz: stacks[tz] for tz in TZ_SETTINGS}, receiver)
    assert result["far_identical"], dump(result["far"])
    assert all(result["far_matches_rule"].values()), dump(result)
    assert all(len(v) == 1 for v in result["near_due_at"].values()), result["near_due_at"]
    assert {v[0] for v in result["near_due_at"].values()} == {result["near_due"]}
    for tz, near in result["near"].items():
        wrong = exactly_once(near)
        assert not wrong, f"{tz}: {wrong}\n{dump(result['near'])}"
