"""The platform failing (scenario e): answering 500 forever, 429 with Retry-After, or
hanging. Attempts follow the retry policy, Retry-After is honoured, the HTTP timeout frees
the worker, the failure is told once, and nothing loops; other posts go out meanwhile."""

import pytest

from tests.reliability.harness import FAST, dump, exactly_once, running_stack
from tests.reliability.scenarios import platform_failing

pytestmark = pytest.mark.slow

DELAYS = [int(d) for d in FAST["HERALD_RETRY_DELAYS"].split(",")]
TIMEOUT = float(FAST["HERALD_HTTP_TIMEOUT"])
RETRY_AFTER = 3


def test_failing_platforms_get_the_retry_policy_and_one_notification_each(
        tmp_path, shared, receiver, mailbox):
    env = {**FAST, "SMTP_URL": mailbox.url}
    with running_stack(tmp_path / "stack", env=env, shared=shared) as stack:
        result = platform_failing(stack, receiver, mailbox, retry_delays=DELAYS,
                                  http_timeout=TIMEOUT, retry_after=RETRY_AFTER)
    wrong = []
    for name, waits in (("e-500", DELAYS),
                        ("e-429", [max(d, RETRY_AFTER) for d in DELAYS]),
                        # each attempt first waits out the HTTP timeout
                        ("e-hang", [TIMEOUT + d for d in DELAYS])):
        got = result[name]
        if got["requests"] != 1 + len(DELAYS) or got["attempts"] != 1 + len(DELAYS):
            wrong.append(f"{name}: {got['requests']} requests, {got['attempts']} attempts")
        if got["keys"] != 1:
            wrong.append(f"{name}: {got['keys']} idempotency keys")
        # Never sooner than the policy (or Retry-After) allows. (How much later depends on
        # the machine: `make faults` measures it.)
        for gap, wait in zip(got["gaps_s"], waits, strict=True):
            if gap < wait:
                wrong.append(f"{name}: {gap} s between attempts, policy says {wait} s")
        if got["requests_after_failed"]:
            wrong.append(f"{name}: {got['requests_after_failed']} requests after it failed")
        if (got["in_app_notifications"], got["emails"]) != (1, 1):
            wrong.append(f"{name}: {got['in_app_notifications']} notifications, "
                         f"{got['emails']} e-mails")
    assert "timed out" in result["e-hang"]["last_error"]
    wrong += [f"bystanders: {w}" for w in exactly_once(result["bystanders"])]
    assert not wrong, f"{wrong}\n{dump(result)}"
