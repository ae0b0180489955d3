"""The real processes of the Procfile (release, web, worker, scheduler), started as
subprocesses against a private Redis and a fresh SQLite file, for end-to-end tests."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class Stack:
    def __init__(self, workdir: Path, redis_url: str, **env):
        self.workdir = workdir
        self.port = free_port()
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DATABASE_URL": f"sqlite:///{workdir / 'herald.db'}",
            "REDIS_URL": redis_url,
            "SECRET_KEY": "e2e-secret",
            "HERALD_ALLOW_PRIVATE_NETWORKS": "1",
            "PORT": str(self.port),
            "WEB_HOST": "127.0.0.1",
            "WEB_CONCURRENCY": "1",
            # Tests and benchmarks call the API far faster than a script should; the
            # per-token limits have their own tests (tests/api/test_limits.py).
            "HERALD_API_WRITES_PER_MINUTE": "1000000",
            "HERALD_API_READS_PER_MINUTE": "1000000",
            **env,
        }
        self.processes: dict[str, list[subprocess.Popen]] = {}
        self.token = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flask(self, *args) -> str:
        result = subprocess.run([str(BIN / "flask"), "--app", "webapp", *args], env=self.env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def procfile(self) -> dict[str, str]:
        lines = (ROOT / "Procfile").read_text().splitlines()
        return dict(line.split(": ", 1) for line in lines if line.strip())

    def start(self, name: str) -> subprocess.Popen:
        path = self.workdir / f"{name}-{len(self.processes.get(name, []))}.log"
        with open(path, "w") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(self.procfile()[name], shell=True, env=self.env,
                                       cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.setdefault(name, []).append(process)
        return process

    @property
    def database(self) -> Path:
        """The SQLite file (the stack's DATABASE_URL)."""
        return self.workdir / "herald.db"

    def release(self) -> None:
        """The release step, then a user with an API token (`self.token`)."""
        self.flask("db", "upgrade")
        self.flask("users", "create", "e2e@example.com", "--password", "e2e-password")
        self.token = self.flask("tokens", "create", "e2e@example.com").strip().splitlines()[-1]

    def up(self, workers: int = 2, schedulers: int = 1, released: bool = False) -> "Stack":
        """Start web, `workers` workers and `schedulers` schedulers; `released=True` when
        the database and `self.token` are already in place (see `release()`)."""
        if not released:
            self.release()
        self.start("web")
        for _ in range(workers):
            self.start("worker")
        for _ in range(schedulers):
            self.start("scheduler")
        self.wait_healthy(workers)
        return self

    def wait_healthy(self, workers: int, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = requests.get(f"{self.base}/healthz", timeout=2)
                if last.status_code == 200 and last.json()["workers"] >= workers:
                    return last.json()
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise AssertionError(f"stack not healthy: {last and last.text}\n{self.logs()}")

    def api(self, method: str, path: str, timeout: float = 10, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.base}/api/v1{path}", timeout=timeout,
                                headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def kill(self, process: subprocess.Popen, sig=signal.SIGKILL) -> None:
        os.killpg(process.pid, sig)
        process.wait(30)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted(self.workdir.glob("*.log")))

    def down(self) -> None:
        """SIGTERM every process group, then SIGKILL whatever is left in it (the shell
        that started a process may be gone while the process itself lingers)."""
        groups = [p for group in self.processes.values() for p in group]
        for process in groups:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in groups:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, sig) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
