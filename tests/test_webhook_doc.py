"""docs/webhooks.md against what Herald really sends: its verification snippets (Python and
shell, taken from the Markdown) run on a request the webhook received, and its header and
body tables name exactly what the request carried, so the document cannot drift."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import delivery_ids, schedule, show

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def code_block(language: str, containing: str) -> str:
    """The one fenced block of `language` in the doc that contains `containing`."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.S | re.M)
    [block] = [b for b in blocks if containing in b]
    return block


def table_names(heading: str) -> set[str]:
    """The `names` in the first column of the table after `heading`."""
    text = DOC.read_text().split(heading, 1)[1]
    table = re.match(r"\s*((?:\|.*\n)+)", text).group(1)
    return set(re.findall(r"^\| `([^`]+)` \|", table, re.M))


@pytest.fixture
def received(api, hook_channel, webhook, runner):
    """A request Herald sent to a webhook channel whose signing secret is "hook-secret"."""
    post = schedule(api, [hook_channel["id"]], body='Zeilen\nmit "Anführung" 🎉')
    runner.until_settled(delivery_ids(post))
    [got] = webhook.posts()
    return got


def test_the_python_snippet_verifies_a_real_request(received):
    namespace: dict = {}
    exec(code_block("python", "def verify"), namespace)
    verify = namespace["verify"]
    signature = received.headers["X-Herald-Signature"]
    assert verify("hook-secret", received.body, signature) is True
    assert verify("other-secret", received.body, signature) is False
    assert verify("hook-secret", received.body + b" ", signature) is False
    assert verify("hook-secret", received.body, None) is False


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_the_shell_snippet_verifies_a_real_request(received, tmp_path):
    (tmp_path / "body.json").write_bytes(received.body)
    script = code_block("sh", "openssl")

    def run(secret: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin", "HERALD_SECRET": secret,
                                   "SIGNATURE": received.headers["X-Herald-Signature"]})

    good = run("hook-secret")
    assert (good.returncode, good.stdout.strip()) == (0, "valid"), good.stderr
    bad = run("other-secret")
    assert (bad.returncode, bad.stdout.strip()) == (1, "INVALID")


def test_the_tables_name_what_the_request_carries(received):
    # What any HTTP client adds (Host, length, encoding, agent) is not Herald's format.
    sent = {name for name in received.headers
            if name.lower() not in {"host", "content-length", "accept-encoding",
                                    "user-agent", "connection"}}
    assert table_names("Headers:") == sent
    assert table_names("Body fields:") == set(received.json())
    assert received.method == "POST"


def test_the_channel_form_links_to_the_doc(client, auth, admin):
    assert auth.login().status_code == 302
    form = show(client, "/channels")
    [link] = re.findall(r'<a href="([^"]+)">The webhook format</a>', form)
    response = client.get(link)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == DOC.read_text()
