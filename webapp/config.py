"""Configuration: defaults in a class, overlaid by environment variables, then by a test dict."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _retry_delays(raw: str) -> list[int]:
    delays = [int(part) for part in raw.split(",") if part.strip()]
    if any(d < 0 for d in delays):
        raise ValueError("HERALD_RETRY_DELAYS must be non-negative seconds")
    return delays


class Defaults:
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set only when "Keep me signed in" is ticked; a sign-in never outlives this.
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Cookies get Secure (and responses HSTS) when the request came over HTTPS, which
    # behind a reverse proxy is only known from X-Forwarded-Proto: set this to the number
    # of proxies in front of Herald (0: none, X-Forwarded-* headers are ignored).
    HERALD_TRUSTED_PROXIES = 0
    # Sign-in throttling (Flask-Limiter, counted in Redis so every web process shares it):
    # failed attempts per e-mail address and per client address.
    HERALD_SIGNIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    HERALD_SIGNIN_LIMIT_PER_ADDRESS = "50 per 15 minutes"
    # Requests with a wrong API token, per client address.
    HERALD_API_AUTH_FAILURE_LIMIT = "30 per minute"
    # Decisions sent to client review pages (/review/<token>), per client address.
    HERALD_REVIEW_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    # Requests per minute and API token (writes: POST/PUT/PATCH/DELETE; reads: GET/HEAD).
    HERALD_API_WRITES_PER_MINUTE = 30
    HERALD_API_READS_PER_MINUTE = 120
    RATELIMIT_KEY_PREFIX = "herald-limits"
    RATELIMIT_HEADERS_ENABLED = True
    # A Redis outage must not turn every sign-in into an error page: the limits then
    # lapse until it is back (Flask-Limiter logs it).
    RATELIMIT_SWALLOW_ERRORS = True
    # Requests larger than this get 413 (CSV imports included).
    MAX_CONTENT_LENGTH = 5 * 1024 * 1024
    REDIS_URL = "redis://127.0.0.1:6379/0"
    # Seconds a Redis command may go unanswered before it fails (a frozen server).
    HERALD_REDIS_SOCKET_TIMEOUT = 10.0
    # RQ's worker_ttl: an idle worker's blocking dequeue waits this long minus 15 s.
    HERALD_WORKER_TTL = 420
    SMTP_URL = ""
    MAIL_FROM = "herald@localhost"
    # Seconds to wait before attempt 2, 3, ...; attempts = len + 1.
    HERALD_RETRY_DELAYS = [60, 300, 1800]
    HERALD_ALLOW_PRIVATE_NETWORKS = False
    # Deliveries due within this many seconds get an exact-time job in rq-scheduler;
    # the planner brings later ones in as their time approaches.
    HERALD_HORIZON_SECONDS = 600
    # Delivery rows are written this far ahead (the queue and "upcoming" show them).
    HERALD_MATERIALIZE_DAYS = 7
    # How often the scheduler process runs the planner (re-creating lost jobs, recovering
    # deliveries of dead workers, materialising recurring occurrences).
    HERALD_PLANNER_INTERVAL = 5.0
    # A planner pass stops writing rows after this long (the next pass goes on), so that
    # giving jobs to what is due now never waits behind a bulk import.
    HERALD_MATERIALIZE_SECONDS_PER_PASS = 1.0
    # A worker that has not refreshed its heartbeat for this long is considered dead.
    HERALD_HEARTBEAT_TTL = 15
    HERALD_QUEUE = "herald"
    # On SQLite, this process's writes take the write lock ahead of other processes'
    # (set by the worker; see database.WriteGate).
    HERALD_WRITES_FIRST = False
    # Deliveries whose attempts start in the same second travel in jobs of up to this many,
    # claimed together and sent concurrently (one HTTP request each, in parallel).
    HERALD_BATCH_SIZE = 50
    HERALD_HTTP_TIMEOUT = 30.0
    # How passwords are hashed (a werkzeug method). scrypt makes every guess cost about
    # 0.1 s of CPU, on purpose; the test suite picks a cheap method.
    HERALD_PASSWORD_HASH = "scrypt"
    HERALD_BASE_URL = "http://127.0.0.1:5000"
    # The bearer token Prometheus sends to GET /metrics; unset, /metrics answers 404.
    HERALD_METRICS_TOKEN = ""


def _instance_secret_key(instance_path: str) -> str:
    """A per-installation key kept under instance/, so sessions and encrypted
    credentials survive restarts without any configuration."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# Seconds the limits' Redis gets per command (see load()).
LIMITS_REDIS_TIMEOUT = 0.5


def load(app, overrides: dict | None = None) -> None:
    """Fill app.config: defaults, then the environment, then explicit overrides."""
    app.config.from_object(Defaults)
    env = os.environ
    instance = Path(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = env.get(
        "DATABASE_URL", f"sqlite:///{instance / 'herald.db'}"
    )
    for name in ("REDIS_URL", "SMTP_URL", "MAIL_FROM", "HERALD_BASE_URL",
                 "HERALD_SIGNIN_LIMIT_PER_ACCOUNT", "HERALD_SIGNIN_LIMIT_PER_ADDRESS",
                 "HERALD_API_AUTH_FAILURE_LIMIT", "HERALD_REVIEW_LIMIT_PER_ADDRESS",
                 "HERALD_METRICS_TOKEN"):
        if env.get(name):
            app.config[name] = env[name]
    if env.get("HERALD_RETRY_DELAYS"):
        app.config["HERALD_RETRY_DELAYS"] = _retry_delays(env["HERALD_RETRY_DELAYS"])
    if env.get("HERALD_ALLOW_PRIVATE_NETWORKS"):
        app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = env["HERALD_ALLOW_PRIVATE_NETWORKS"] == "1"
    for name in ("HERALD_HORIZON_SECONDS", "HERALD_HEARTBEAT_TTL", "HERALD_MATERIALIZE_DAYS",
                 "HERALD_BATCH_SIZE", "HERALD_WORKER_TTL", "HERALD_TRUSTED_PROXIES",
                 "HERALD_API_WRITES_PER_MINUTE", "HERALD_API_READS_PER_MINUTE"):
        if env.get(name):
            app.config[name] = int(env[name])
    for name in ("HERALD_PLANNER_INTERVAL", "HERALD_HTTP_TIMEOUT",
                 "HERALD_MATERIALIZE_SECONDS_PER_PASS", "HERALD_REDIS_SOCKET_TIMEOUT"):
        if env.get(name):
            app.config[name] = float(env[name])
    if overrides:
        app.config.update(overrides)
    # The limits live in the job queue's Redis unless a test or operator says otherwise.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    # Short timeouts: every API call checks a limit before its view runs, and a frozen Redis
    # must not hold it up for the app's 10 s (a post due in seconds would then be refused
    # as past). When Redis does not answer, the limits lapse (RATELIMIT_SWALLOW_ERRORS).
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {
        "socket_timeout": LIMITS_REDIS_TIMEOUT, "socket_connect_timeout": LIMITS_REDIS_TIMEOUT})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    # Heroku-style URLs say postgres://; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len(prefix):]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = env.get("SECRET_KEY") or _instance_secret_key(app.instance_path)
