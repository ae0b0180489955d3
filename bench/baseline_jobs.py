"""Jobs for bench/baselines.py: what a user of plain RQ + rq-scheduler would run.

The RQ workers import this module by name (`bench.baseline_jobs`), with the repository root
on their import path. It uses only the standard library's http.client: RQ's default worker
imports the job's module again in every forked child, and `requests` alone takes ~0.15 s to
import, which would measure imports rather than scheduling.
"""

import http.client
import json
from urllib.parse import urlsplit


def post(url: str, number: int, due: float) -> int:
    """POST {"number", "due"} to `url` (the bench's receiver records when it arrives)."""
    parts = urlsplit(url)
    body = json.dumps({"number": number, "due": due})
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", parts.path or "/", body,
                           {"Content-Type": "application/json"})
        return connection.getresponse().status
    finally:
        connection.close()


def noop() -> None:
    """An empty job: what RQ itself costs per job."""
