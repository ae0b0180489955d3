"""HTTP for publishers: the one URL check, the private-network guard, the requests
themselves and the classification of answers.

A URL is parsed once, by urllib3's parser (the one urllib3 connects by), and refused when
Python's own parser reads it differently. Its host is resolved once per request; every
address must be global unless HERALD_ALLOW_PRIVATE_NETWORKS is on, and the connection goes
to the address that was checked, so a name cannot answer one address to the check and
another to the connection (DNS rebinding)."""

import ipaddress
import json
import re
import socket
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

import urllib3
from flask import current_app, has_app_context
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from ..errors import ValidationError
from ..timeutil import now_utc
from .base import Publisher, PublishResult, clean_text, external_ref

# The contract (API.md): 408, 429 and 5xx are transient; every other 4xx is permanent.
TRANSIENT_STATUSES = {408, 429}

ALLOW_HINT = "to allow it, restart the server with HERALD_ALLOW_PRIVATE_NETWORKS=1"

# (host, port) -> the host's addresses, most preferred first.
Resolve = Callable[[str, int], list[str]]


def _user_agent() -> str:
    """Herald/<version> from the installed package's metadata (pyproject.toml's version)."""
    try:
        return f"Herald/{version('herald')}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "Herald"


# Every request Herald makes says who makes it (platforms' logs and abuse desks read it).
USER_AGENT = _user_agent()


def unsafe_character(value: str) -> str | None:
    """The first character no setting may contain, described; None if there is none.

    Control characters (NUL included) change what a URL or header means to whoever reads
    it next, and a lone surrogate cannot be encoded as UTF-8, so it could be stored but
    never shown again."""
    for char in value:
        kind = {"Cc": "the control character", "Cs": "the lone surrogate character"}.get(
            unicodedata.category(char))
        if kind:
            return f"{kind} U+{ord(char):04X}"
    return None


@dataclass(frozen=True)
class Target:
    """Where a URL leads, as urllib3 parsed it: this is what is connected to."""

    scheme: str
    host: str  # lower case; an IPv6 address without its brackets
    port: int
    request_uri: str  # path and query, as the request line carries them

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


# The authority: a bracketed IPv6 address or a name without brackets, then maybe a port.
_AUTHORITY = re.compile(r"(?P<host>\[[^\[\]]*\]|[^\[\]:]*)(?::(?P<port>.*))?", re.S)
_HOST_NAME = re.compile(r"[a-z0-9._-]+", re.I)


def parse(url, field: str) -> Target:
    """The one check of a URL's form; a ValidationError naming `field` says what is wrong.

    Only http and https; no user name or password; no backslash, white space, control
    character or lone surrogate anywhere; a port from 1 to 65535; brackets only around an
    IPv6 address; a host name of ASCII letters, digits, '-', '_' and '.' (IDNA's xn-- form
    for others: its mappings differ from one library to the next). What is left must read
    the same to urllib3 and to urlsplit."""
    if not isinstance(url, str) or not url:
        raise ValidationError.field(field, "a URL is required")
    bad = unsafe_character(url)
    if bad:
        raise ValidationError.field(field, f"must not contain {bad}")
    if "\\" in url:
        raise ValidationError.field(field, "must not contain a backslash")
    if any(char.isspace() for char in url):
        raise ValidationError.field(field, "must not contain spaces (write %20)")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise ValidationError.field(field, "must be an http:// or https:// URL")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        raise ValidationError.field(
            field, "must not contain a user name or password (the part before '@')")
    match = _AUTHORITY.fullmatch(authority)
    if match is None:
        raise ValidationError.field(
            field, "has unbalanced brackets: write an IPv6 address as [2001:db8::1]")
    host, port = match["host"], match["port"]
    if not host.strip("[]"):
        raise ValidationError.field(field, "must name a host")
    if not host.isascii():
        raise ValidationError.field(
            field, "must name its host in ASCII (for an international name, its xn-- form)")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValidationError.field(
                field, f"has {host}, which is not an IPv6 address") from None
    elif not _HOST_NAME.fullmatch(host):
        raise ValidationError.field(field, f"has the host '{host}': a host name has only "
                                           "letters, digits, '-', '_' and '.'")
    if port is not None and not (port.isascii() and port.isdigit()
                                 and 1 <= int(port) <= 65535):
        raise ValidationError.field(field, f"has the port '{port}': a port is a number "
                                           "from 1 to 65535")
    try:
        parsed = parse_url(url)
        split = urlsplit(url)
        split_port = split.port
    except (LocationParseError, ValueError):
        raise ValidationError.field(field, "is not a valid URL") from None
    read = (parsed.scheme, (parsed.host or "").strip("[]"), parsed.port, parsed.auth)
    if read != (split.scheme.lower(), split.hostname, split_port, None):
        raise ValidationError.field(field, "is ambiguous: URL parsers disagree on its host")
    return Target(parsed.scheme, read[1], parsed.port or (443 if parsed.scheme == "https"
                                                          else 80), parsed.request_uri)


# Not global, though Python 3.11's `is_global` says they are (later versions know most).
_NOT_GLOBAL = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "240.0.0.0/4",
    "::/96",  # IPv4-compatible addresses (deprecated): ::7f00:1 reaches 127.0.0.1
    "64:ff9b:1::/48",  # NAT64 for local use (RFC 8215)
    "fec0::/10",  # site-local (deprecated)
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _non_global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the address is anything but a global unicast one, an IPv6 address that
    carries an IPv4 one (mapped, NAT64, 6to4, Teredo) also counting by what it carries."""
    if not address.is_global or address.is_multicast or any(
            address in net for net in _NOT_GLOBAL if net.version == address.version):
        return True
    if address.version == 4:
        return False
    carried = [address.ipv4_mapped, address.sixtofour,
               address.teredo[1] if address.teredo else None,
               ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None]
    return any(inner is not None and _non_global(inner) for inner in carried)


def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the system's resolver, in its order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def configured_resolver() -> Resolve:
    """The app's resolver: HERALD_RESOLVER (a function like `system_resolve`, for tests
    and embedding) or the system's."""
    configured = current_app.config.get("HERALD_RESOLVER") if has_app_context() else None
    return configured or system_resolve


class Unresolvable(ValidationError):
    """The host has no address, for now: at send time, worth another attempt."""


def _addresses(target: Target, field: str, allow_private: bool, resolve: Resolve) -> list[str]:
    """The addresses to connect to for `target`, the host resolved once (an IP address is
    its own); refused unless every one is global or private networks are allowed."""
    try:
        ipaddress.ip_address(target.host)
        found = [target.host]
    except ValueError:
        try:
            found = resolve(target.host, target.port)
        except (OSError, UnicodeError):
            found = []
    if not found:
        raise Unresolvable.field(field, f"cannot resolve host '{target.host}'")
    if allow_private:
        return found
    for address in found:
        if _non_global(ipaddress.ip_address(address.split("%")[0])):
            where = (f"'{target.host}'" if address == target.host
                     else f"'{target.host}' resolves to {address}, which")
            raise ValidationError.field(
                field, f"{where} is a private or loopback address; {ALLOW_HINT}")
    return found


def check_url(url, field: str, allow_private: bool, resolve: Resolve | None = None) -> None:
    """The check when a channel is saved: the URL's form, and unless private networks
    are allowed, where its host leads now (it is checked again at every request)."""
    target = parse(url, field)
    if not allow_private:
        _addresses(target, field, allow_private, resolve or configured_resolver())


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds, from either of its forms (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
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
    """A platform's answer, its body read up to MAX_REPLY_BYTES."""

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


def failure(response: Reply, error: str, *, transient: bool | None = None,
            retry_after: float | None = None) -> PublishResult:
    """A failed PublishResult for a platform's error reply, in the platform's own words
    (`error`): transient or permanent by its HTTP status as classify() says, unless
    `transient` says otherwise (platforms that answer errors with 200)."""
    if transient is None:
        transient = (response.status_code in TRANSIENT_STATUSES
                     or response.status_code >= 500)
    if retry_after is None:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return PublishResult(ok=False, transient=transient, retry_after=retry_after,
                         error=clean_text(error, 300) or f"HTTP {response.status_code}")


def reply_json(response: Reply) -> dict:
    """The reply's JSON object, or {} when it is none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def number(value) -> float | None:
    """A JSON number (not a boolean) as a float; None otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


# One connection pool manager per process, shared by the sending threads: a pool per
# (scheme, checked address, port, and for https the host name), so connections to a
# platform are reused from one delivery to the next, up to one per thread of a full batch
# (HERALD_BATCH_SIZE, 50 by default). No automatic retries or redirects: a retry is the
# engine's decision, with the delivery's idempotency key, and a redirect could lead
# anywhere, a private address included.
_POOL = urllib3.PoolManager(num_pools=200, maxsize=64, retries=False, block=False)


def _pool(target: Target, address: str):
    """The pool whose connections go to `address`; TLS names the URL's host (SNI and the
    certificate's check), whatever the address."""
    tls = {"server_hostname": target.host} if target.scheme == "https" else None
    host = f"[{address}]" if ":" in address else address
    return _POOL.connection_from_host(host, port=target.port, scheme=target.scheme,
                                      pool_kwargs=tls)


# What Herald reads of a platform's answer: far more than any reply it uses (a post's id
# and URL, an error message).
MAX_REPLY_BYTES = 256 * 1024


def send(method: str, url: str, *, timeout: float, allow_private: bool,
         resolve: Resolve = system_resolve, data: bytes | None = None, json_body=None,
         headers: dict | None = None) -> Reply | PublishResult:
    """Make the request, at most `timeout` seconds in all, to an address checked by the
    guard. A URL or address the guard refuses is a permanent failure and nothing is sent;
    network failures come back as transient PublishResults."""
    try:
        target = parse(url, "url")
    except ValidationError as exc:
        return PublishResult(ok=False, transient=False, error=f"the URL {exc.message}")
    try:
        found = _addresses(target, "url", allow_private, resolve)
    except ValidationError as exc:
        return PublishResult(ok=False, transient=isinstance(exc, Unresolvable),
                             error=exc.message)
    headers = dict(headers or {}, Host=target.host_header)
    headers.setdefault("User-Agent", USER_AGENT)
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    deadline = time.monotonic() + timeout
    for address in found:
        try:
            response = _pool(target, address).urlopen(
                method, target.request_uri, body=data, headers=headers, redirect=False,
                timeout=urllib3.Timeout(total=max(deadline - time.monotonic(), 0.001)),
                preload_content=False)
            content = _read_bounded(response)
        # The next address, if any, when this one refused or was unreachable: nothing
        # was sent. (Before TimeoutError, which NewConnectionError subclasses.)
        except urllib3.exceptions.NewConnectionError as exc:
            failure = PublishResult(ok=False, transient=True,
                                    error=f"connection failed: {type(exc).__name__}")
            continue
        except (urllib3.exceptions.SSLError, urllib3.exceptions.ProxyError) as exc:
            return PublishResult(ok=False, transient=True,
                                 error=f"connection failed: {type(exc).__name__}")
        # A connection broken, or silent, once the request may have gone out: the
        # platform may have acted on it (`unknown`).
        except urllib3.exceptions.ProtocolError as exc:
            return PublishResult(ok=False, transient=True, unknown=True,
                                 error=f"connection failed: {type(exc).__name__}")
        except urllib3.exceptions.ReadTimeoutError:
            return PublishResult(ok=False, transient=True, unknown=True,
                                 error=f"timed out after {timeout:g} s, with no answer")
        except urllib3.exceptions.TimeoutError:
            return PublishResult(ok=False, transient=True,
                                 error=f"timed out after {timeout:g} s")
        except urllib3.exceptions.HTTPError as exc:
            return PublishResult(ok=False, transient=False, error=f"request failed: {exc}")
        return Reply(response.status, response.headers, content)
    return failure


def _read_bounded(response) -> bytes:
    """The body up to MAX_REPLY_BYTES: an error page of megabytes, or a server that never
    stops sending, costs a worker no more than that. A connection with unread data is
    closed, not reused."""
    content = response.read(MAX_REPLY_BYTES + 1)
    if len(content) > MAX_REPLY_BYTES:
        response.close()
        return content[:MAX_REPLY_BYTES]
    response.release_conn()
    return content


class HttpPublisher(Publisher):
    """A publisher that speaks HTTP: every request it makes goes through `send`, with the
    channel's network policy."""

    def __init__(self, config: dict, secrets: dict, *, timeout: float, allow_private: bool,
                 resolve: Resolve | None = None):
        super().__init__(config, secrets, timeout=timeout, allow_private=allow_private)
        self.resolve = resolve or system_resolve

    def not_answered(self, response: PublishResult) -> PublishResult:
        """A publish that got no answer from the platform, as its outcome (redacted)."""
        if response.unknown and not self.idempotent:
            # Asking again could publish twice: the person decides (check and retry).
            response.transient = False
            response.error = (f"{response.error}; the platform may have published it: "
                              "check, then retry or mark it published")
        else:
            response.unknown = False
        return self.redact(response)

    def result_of(self, response: "Reply | PublishResult") -> PublishResult:
        """What send() answered, as the outcome of a publish: its failure (secrets
        redacted), or success with the platform's reference to the new item if its reply
        names one."""
        if isinstance(response, PublishResult):
            return self.not_answered(response)
        failure = classify(response)
        if failure:
            return self.redact(failure)
        try:
            reply = response.json()
        except ValueError:
            reply = None
        external_id, external_url = external_ref(reply)
        return PublishResult(ok=True, external_id=external_id, external_url=external_url)

    def send(self, method: str, url: str, *, timeout: float | None = None,
             **kwargs) -> Reply | PublishResult:
        """`send` with this publisher's timeout, guard and resolver."""
        return send(method, url, timeout=self.timeout if timeout is None else timeout,
                    allow_private=self.allow_private, resolve=self.resolve, **kwargs)
