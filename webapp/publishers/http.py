"""HTTP for publishers: the private-network guard and the classification of answers."""

import ipaddress
import json
import socket
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3
from urllib3 import HTTPHeaderDict

from ..errors import ValidationError
from ..timeutil import now_utc
from .base import PublishResult, clean_text

# The contract (API.md): 408, 429 and 5xx are transient; every other 4xx is permanent.
TRANSIENT_STATUSES = {408, 429}


def _is_private(address) -> bool:
    """Not a global address, counting IPv4 addresses carried inside IPv6 ones (mapped,
    6to4, Teredo) by the address they stand for."""
    if not address.is_global:
        return True
    if address.version == 6:
        embedded = [address.ipv4_mapped, address.sixtofour,
                    address.teredo[1] if address.teredo else None]
        return any(inner is not None and not inner.is_global for inner in embedded)
    return False


def check_url(url: str, field: str, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or that point at private or loopback addresses
    (unless HERALD_ALLOW_PRIVATE_NETWORKS=1)."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError.field(field, "a URL is required")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError.field(field, "must be an http:// or https:// URL")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValidationError.field(field, f"cannot resolve host '{parts.hostname}'") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if _is_private(address):
            raise ValidationError.field(
                field, f"'{parts.hostname}' is a private or loopback address; "
                       "set HERALD_ALLOW_PRIVATE_NETWORKS=1 to allow it")


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds, from either of its forms (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, (when - now_utc()).total_seconds())


@dataclass
class Reply:
    """A platform's answer, read in full."""

    status_code: int
    headers: HTTPHeaderDict
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        """The body as JSON; ValueError when it is not, including nesting too deep to parse
        (a reply the platform accepted must not turn into a failure and be sent again)."""
        try:
            return json.loads(self.content)
        except RecursionError:
            raise ValueError("the reply is nested too deeply") from None


def classify(response: Reply) -> PublishResult | None:
    """None for a 2xx; otherwise a failed PublishResult, transient or permanent."""
    if 200 <= response.status_code < 300:
        return None
    reason = f"HTTP {response.status_code}"
    detail = clean_text(response.text[:300], 300)
    if detail:
        reason += f": {detail}"
    transient = response.status_code in TRANSIENT_STATUSES or response.status_code >= 500
    return PublishResult(ok=False, transient=transient, error=reason,
                         retry_after=retry_after_seconds(response.headers.get("Retry-After")))


# One connection pool per process, shared by the sending threads: connections to a
# platform are reused from one delivery to the next, up to one per thread of a full batch
# (HERALD_BATCH_SIZE, 50 by default). No automatic retries or redirects: a retry is the
# engine's decision, with the delivery's idempotency key.
_POOL = urllib3.PoolManager(num_pools=200, maxsize=64, retries=False, block=False)


def send(method: str, url: str, *, timeout: float, data: bytes | None = None,
         json_body=None, headers: dict | None = None) -> Reply | PublishResult:
    """Make the request, at most `timeout` seconds in all; network failures come back as
    transient PublishResults."""
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        response = _POOL.request(method, url, body=data, headers=headers, redirect=False,
                                 timeout=urllib3.Timeout(total=timeout))
    # Before TimeoutError: urllib3's NewConnectionError (refused, unreachable) subclasses it.
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.SSLError, urllib3.exceptions.ProxyError) as exc:
        return PublishResult(ok=False, transient=True,
                             error=f"connection failed: {type(exc).__name__}")
    except urllib3.exceptions.TimeoutError:
        return PublishResult(ok=False, transient=True, error=f"timed out after {timeout:g} s")
    except urllib3.exceptions.HTTPError as exc:
        return PublishResult(ok=False, transient=False, error=f"request failed: {exc}")
    return Reply(response.status, response.headers, response.data)
