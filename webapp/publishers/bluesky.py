"""Bluesky (AT Protocol) with an app password.

The session (com.atproto.server.createSession, limited to 30 per 5 minutes) is kept in
Redis for every job and process, refreshed with its refresh token when the access token
expires, and opened again only when refreshing fails. A post is an `app.bsky.feed.post`
record created under a record key derived from the delivery (a TID made of its due second
and its id): a second attempt after a lost reply finds its record key taken, looks the
record up and counts it as published, so Bluesky never shows a post twice.

No `atproto` package: its client makes its own HTTP requests (httpx), which would bypass
the private-network guard of http.py, and the rest (TIDs, facets) is a few lines here."""

import base64
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import regex

from ..errors import ValidationError
from ..timeutil import now_utc
from .base import FormField, Message, PublishResult, clean_text
from .http import HttpPublisher, Reply, check_url, retry_after_seconds
from .sessions import SessionStore, fingerprint

DEFAULT_SERVICE = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
MAX_BYTES = 3000  # the lexicon's maxLength of a post's text, in UTF-8 bytes
# A session kept at most this long (Bluesky's refresh tokens last about two months).
SESSION_TTL_MAX = 60 * 24 * 3600
SESSION_TTL_DEFAULT = 24 * 3600
# Renew an access token this many seconds before it says it expires.
EXPIRY_MARGIN = 30

# --- record keys (TIDs) ---------------------------------------------------------------------

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")


def tid(microseconds: int, clock_id: int) -> str:
    """A TID: 64 bits (top bit 0, 53 bits of microseconds since the epoch, 10 bits of
    clock id) in 13 characters of the sortable base32 alphabet."""
    if not 0 <= microseconds < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError("a TID has 53 bits of time and 10 bits of clock id")
    value = microseconds << 10 | clock_id
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def record_key(due_at: str | datetime, delivery_id: int) -> str:
    """The delivery's record key, the same at every attempt: the due second, with the
    delivery id in the rest (its low 10 bits as the clock id, the others as microseconds),
    so deliveries due in the same second never share one and keys sort by due time."""
    if isinstance(due_at, str):
        due_at = datetime.fromisoformat(due_at.replace("Z", "+00:00"))
    second = int(due_at.timestamp())
    return tid(second * 1_000_000 + (delivery_id >> 10) % 1_000_000, delivery_id & 1023)


# --- rich text: links, mentions, hashtags ------------------------------------------------------

_LINK = regex.compile(r"(?<![\w@/.])https?://[^\s<>\"]+", regex.I)
_MENTION = regex.compile(r"(?<![\w@])@([a-zA-Z0-9.-]+)")
_HANDLE = regex.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
                        r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
_TAG = regex.compile(r"(?<!\S)[#＃](?!\ufe0f)(\S+)")
TAG_MAX = 64  # graphemes, as Bluesky's apps allow


@dataclass(frozen=True)
class Span:
    """Something in the text that becomes a facet: `start`/`end` in characters."""

    start: int
    end: int
    kind: str  # "link", "mention" or "tag"
    value: str  # the URL, the handle (to resolve) or the tag without its '#'


def _trim_link(url: str) -> str:
    """A link without the punctuation that ends the sentence around it."""
    while url and (url[-1] in ".,;:!?'\"" or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def spans(text: str) -> list[Span]:
    """Links, mentions and hashtags in `text`, in order, none overlapping another (a
    mention or '#' inside a link is part of the link)."""
    found = []
    for match in _LINK.finditer(text):
        url = _trim_link(match[0])
        if urlsplit(url).hostname:
            found.append(Span(match.start(), match.start() + len(url), "link", url))
    for match in _MENTION.finditer(text):
        handle = match[1].rstrip(".")
        after = match.start(1) + len(handle)
        if (_HANDLE.fullmatch(handle) and not (after < len(text) and text[after] == "-")
                and not regex.match(r"\w", text[match.end():match.end() + 1])):
            found.append(Span(match.start(), after, "mention", handle.lower()))
    for match in _TAG.finditer(text):
        tag = regex.sub(r"\p{P}+$", "", match[1])
        if tag and not tag.isdigit() and len(regex.findall(r"\X", tag)) <= TAG_MAX:
            found.append(Span(match.start(), match.start(1) + len(tag), "tag", tag))
    kept: list[Span] = []
    for span in sorted(found, key=lambda s: (s.start, -s.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def byte_range(text: str, span: Span) -> dict:
    """The span as the AT Protocol counts it: UTF-8 byte offsets into the text."""
    start = len(text[:span.start].encode())
    return {"byteStart": start, "byteEnd": start + len(text[span.start:span.end].encode())}


def facets(text: str, dids: dict[str, str]) -> list[dict]:
    """The text's facets; a mention only when its handle resolved (in `dids`), else it
    stays plain text."""
    result = []
    for span in spans(text):
        if span.kind == "link":
            feature = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
        elif span.kind == "tag":
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
        elif span.value in dids:
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": dids[span.value]}
        else:
            continue
        result.append({"index": byte_range(text, span), "features": [feature]})
    return result


# --- the publisher ---------------------------------------------------------------------------


def _jwt_expiry(token: str) -> float | None:
    """A JWT's `exp` (seconds since the epoch), read without checking it: only to know
    when to renew and how long to keep the session."""
    try:
        payload = token.split(".")[1]
        exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
        return float(exp)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _error_of(response: Reply) -> tuple[str, str]:
    """(error, message) of an XRPC error reply."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return "", clean_text(response.text, 200)
    return (clean_text(str(body.get("error") or ""), 100),
            clean_text(str(body.get("message") or ""), 300))


# Errors that mean the access token is not (or no longer) accepted.
_TOKEN_ERRORS = {"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"}


class BlueskyPublisher(HttpPublisher):
    platform = "bluesky"
    label = "Bluesky"
    form_fields = (
        FormField("handle", "Handle", "text", "alice.bsky.social",
                  "Your Bluesky handle, or your own domain if you use one as your handle."),
        FormField("app_password", "App password", "password", "xxxx-xxxx-xxxx-xxxx",
                  "Bluesky → Settings → Privacy and security → App passwords → Add App "
                  "Password. Not your account password: an app password can be revoked "
                  "on its own."),
        FormField("service_url", "Service URL (optional)", "url", "https://bsky.social",
                  "Leave empty for bsky.social; only for an account on a self-hosted PDS."),
    )
    secret_fields = ("app_password",)
    required_fields = ("handle", "app_password")
    optional_fields = ("service_url",)
    max_length = 300
    idempotent = True  # the record key is the delivery's: see record_key
    can_unpublish = True
    keeps_session = True  # createSession is limited to 30 per 5 minutes

    def __init__(self, config, secrets, *, timeout, allow_private, resolve=None,
                 store: SessionStore | None = None):
        super().__init__(config, secrets, timeout=timeout, allow_private=allow_private,
                         resolve=resolve)
        self.store = store
        self._session: dict | None = None
        # A batch's threads share the channel's publisher: one of them opens or renews
        # the session, the others use it.
        self._lock = threading.Lock()

    # -- settings

    @staticmethod
    def handle_of(value: str) -> str:
        return value.strip().lstrip("@").lower()

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        handle = cls.handle_of(config["handle"])
        if not (_HANDLE.fullmatch(handle) or regex.fullmatch(r"did:[a-z]+:[a-zA-Z0-9._:%-]+",
                                                             handle)):
            raise ValidationError.field(
                "config.handle", "must be a Bluesky handle such as alice.bsky.social")
        if config.get("service_url"):
            check_url(config["service_url"], "config.service_url", allow_private)

    @classmethod
    def validate_text(cls, text):
        problem = super().validate_text(text)
        if problem is None and len(text.encode()) > MAX_BYTES:
            return f"{len(text.encode())} bytes; bluesky allows {MAX_BYTES}"
        return problem

    @property
    def service(self) -> str:
        return (self.config.get("service_url") or DEFAULT_SERVICE).rstrip("/")

    def _url(self, nsid: str, params: dict | None = None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.service}/xrpc/{nsid}{query}"

    def _fingerprint(self) -> str:
        return fingerprint(self.service, self.handle_of(self.config.get("handle", "")),
                           self.secrets.get("app_password", ""))

    # -- answers

    def _failure(self, response: Reply | PublishResult, doing: str) -> PublishResult:
        """A failed request as a result: 408, 429 and 5xx transient (429 after Bluesky's
        ratelimit-reset), the rest permanent; secrets redacted."""
        if isinstance(response, PublishResult):
            return self.result_of(response)
        error, message = _error_of(response)
        status = response.status_code
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        reset = response.headers.get("ratelimit-reset", "")
        if status == 429 and reset.isascii() and reset.isdigit():
            retry_after = max(0.0, int(reset) - now_utc().timestamp())
        detail = ": ".join(part for part in (error, message) if part)
        return self.redact(PublishResult(
            ok=False, transient=status in (408, 429) or status >= 500,
            retry_after=retry_after,
            error=f"{doing}: HTTP {status}" + (f": {detail}" if detail else "")))

    def redact(self, result: PublishResult) -> PublishResult:
        """The app password and the session's tokens cut out of an error."""
        result = super().redact(result)
        if result.error and self._session:
            for key in ("accessJwt", "refreshJwt"):
                result.error = result.error.replace(self._session.get(key) or "\0",
                                                    "[redacted]")
        return result

    @staticmethod
    def _token_refused(response) -> bool:
        return (isinstance(response, Reply) and response.status_code in (400, 401)
                and _error_of(response)[0] in _TOKEN_ERRORS)

    # -- the session

    def _keep(self, reply: Reply) -> dict | PublishResult:
        try:
            body = reply.json()
            session = {key: body[key] for key in ("accessJwt", "refreshJwt", "did")}
        except (ValueError, KeyError, TypeError):
            return PublishResult(ok=False, transient=True,
                                 error="Bluesky answered the sign-in without a session")
        if not all(isinstance(value, str) and value for value in session.values()):
            return PublishResult(ok=False, transient=True,
                                 error="Bluesky answered the sign-in without a session")
        handle = body.get("handle")
        session["handle"] = handle if isinstance(handle, str) and _HANDLE.fullmatch(handle) \
            else self.handle_of(self.config.get("handle", ""))
        self._session = session
        if self.store is not None:
            expiry = _jwt_expiry(session["refreshJwt"])
            ttl = (expiry - now_utc().timestamp()) if expiry else SESSION_TTL_DEFAULT
            self.store.save(session, self._fingerprint(), min(ttl, SESSION_TTL_MAX))
        return session

    def _create_session(self) -> dict | PublishResult:
        response = self.send("POST", self._url("com.atproto.server.createSession"),
                             json_body={"identifier": self.handle_of(self.config["handle"]),
                                        "password": self.secrets.get("app_password", "")})
        if isinstance(response, Reply) and response.status_code == 200:
            return self._keep(response)
        failure = self._failure(response, "signing in to Bluesky")
        if isinstance(response, Reply) and response.status_code in (400, 401) \
                and not failure.transient:
            failure.error = f"app password refused ({failure.error})"
        return failure

    def _refresh(self, session: dict) -> dict | PublishResult | None:
        """The renewed session; None when the refresh token is no longer accepted."""
        response = self.send("POST", self._url("com.atproto.server.refreshSession"),
                             headers={"Authorization": f"Bearer {session['refreshJwt']}"})
        if isinstance(response, Reply) and response.status_code == 200:
            return self._keep(response)
        if isinstance(response, Reply) and response.status_code in (400, 401):
            return None
        return self._failure(response, "renewing the Bluesky session")

    def session(self) -> dict | PublishResult:
        """The channel's session: this publisher's, else the one kept in Redis, else a new
        one; renewed first when its access token says it has expired."""
        with self._lock:
            if self._session is None and self.store is not None:
                self._session = self.store.load(self._fingerprint())
            if self._session is None:
                return self._create_session()
            session = self._session
        expiry = _jwt_expiry(session["accessJwt"])
        if expiry is not None and expiry < now_utc().timestamp() + EXPIRY_MARGIN:
            return self._renew(session)
        return session

    def _renew(self, stale: dict) -> dict | PublishResult:
        """A session to replace `stale`, whose access token was refused: one another thread
        or process already renewed, else refreshed, else a new one."""
        with self._lock:
            if self._session is not None and self._session["accessJwt"] != stale["accessJwt"]:
                return self._session
            if self.store is not None:
                kept = self.store.load(self._fingerprint())
                if kept is not None and kept["accessJwt"] != stale["accessJwt"]:
                    self._session = kept
                    return kept
            renewed = self._refresh(stale)
            if renewed is None:
                self._session = None
                renewed = self._create_session()
            return renewed

    def call(self, method: str, nsid: str, *, params: dict | None = None,
             body: dict | None = None, doing: str,
             timeout: float | None = None) -> Reply | PublishResult:
        """An authenticated XRPC request: a 2xx Reply, a non-2xx Reply other than a refused
        token (the caller reads it), or a failure. A refused token is renewed and the
        request sent once more (it was refused, so nothing happened); refused again, the
        app password is the problem."""
        session = self.session()
        for attempt in (1, 2):
            if isinstance(session, PublishResult):
                return session
            response = self.send(method, self._url(nsid, params), json_body=body,
                                 timeout=timeout,
                                 headers={"Authorization": f"Bearer {session['accessJwt']}"})
            if not self._token_refused(response):
                return response
            if attempt == 1:
                session = self._renew(session)
        failure = self._failure(response, doing)
        failure.transient = False
        failure.error = f"app password refused ({failure.error})"
        return failure

    # -- publishing

    def _resolve_mentions(self, text: str) -> dict[str, str] | PublishResult:
        """{handle: DID} of the text's mentions that resolve; a handle Bluesky does not
        know stays plain text, a request that fails fails the attempt (nothing was
        posted yet)."""
        dids = {}
        for handle in dict.fromkeys(s.value for s in spans(text) if s.kind == "mention"):
            response = self.send("GET", self._url("com.atproto.identity.resolveHandle",
                                                  {"handle": handle}))
            if isinstance(response, Reply) and response.status_code == 200:
                try:
                    did = response.json().get("did")
                except (ValueError, AttributeError):
                    did = None
                if isinstance(did, str) and did.startswith("did:"):
                    dids[handle] = did
            elif isinstance(response, PublishResult) or response.status_code in (
                    408, 429) or response.status_code >= 500:
                return self._failure(response, f"resolving the mention @{handle}")
        return dids

    def record(self, text: str, dids: dict[str, str]) -> dict:
        """The post's record. (Images would go in an `embed` of app.bsky.embed.images.)"""
        record = {"$type": COLLECTION, "text": text,
                  "createdAt": now_utc().isoformat(timespec="milliseconds")
                  .replace("+00:00", "Z")}
        found = facets(text, dids)
        if found:
            record["facets"] = found
        return record

    def _published(self, uri, session: dict, rkey: str) -> PublishResult:
        return PublishResult(ok=True, external_id=uri if isinstance(uri, str) else None,
                             external_url=f"https://bsky.app/profile/{session['handle']}"
                                          f"/post/{rkey}")

    def publish(self, message: Message) -> PublishResult:
        rkey = record_key(message.due_at, message.delivery_id)
        dids = self._resolve_mentions(message.body)
        if isinstance(dids, PublishResult):
            return dids
        session = self.session()
        if isinstance(session, PublishResult):
            return session
        response = self.call("POST", "com.atproto.repo.createRecord", doing="posting to Bluesky",
                             body={"repo": session["did"], "collection": COLLECTION,
                                   "rkey": rkey, "record": self.record(message.body, dids)})
        session = self._session or session
        if isinstance(response, Reply) and response.status_code == 200:
            try:
                uri = response.json().get("uri")
            except (ValueError, AttributeError):
                uri = None
            return self._published(uri or self._uri(session, rkey), session, rkey)
        if isinstance(response, Reply) and self._already_exists(response):
            return self._look_up(message, session, rkey)
        return self._failure(response, "posting to Bluesky")

    @staticmethod
    def _uri(session: dict, rkey: str) -> str:
        return f"at://{session['did']}/{COLLECTION}/{rkey}"

    @staticmethod
    def _already_exists(response: Reply) -> bool:
        error, message = _error_of(response)
        return response.status_code in (400, 409) and (
            error == "InvalidSwap" or "already exists" in message.lower())

    def _look_up(self, message: Message, session: dict, rkey: str) -> PublishResult:
        """The record key is taken: an earlier attempt of this delivery made the record
        (its reply was lost). It counts as published when it holds this text."""
        response = self.call("GET", "com.atproto.repo.getRecord", doing="looking up the post",
                             params={"repo": session["did"], "collection": COLLECTION,
                                     "rkey": rkey})
        if not (isinstance(response, Reply) and response.status_code == 200):
            return self._failure(response, "looking up the post already on Bluesky")
        try:
            found = response.json()
            text, uri = found["value"]["text"], found.get("uri")
        except (ValueError, KeyError, TypeError, AttributeError):
            text = uri = None
        if text != message.body:
            return PublishResult(ok=False, transient=False,
                                 error=f"record key {rkey} already holds another post")
        return self._published(uri or self._uri(session, rkey), session, rkey)

    def unpublish(self, message: Message) -> PublishResult:
        parts = (message.external_id or "").removeprefix("at://").split("/")
        if not (message.external_id or "").startswith("at://") or len(parts) != 3 \
                or parts[1] != COLLECTION or not parts[2]:
            return PublishResult(ok=False, transient=False,
                                 error="not a Bluesky post's at:// URI")
        repo, _, rkey = parts
        response = self.call("POST", "com.atproto.repo.deleteRecord", doing="deleting the post",
                             body={"repo": repo, "collection": COLLECTION, "rkey": rkey})
        if isinstance(response, Reply) and response.status_code == 200:
            return PublishResult(ok=True, external_id=message.external_id)
        if isinstance(response, Reply) and response.status_code in (400, 404):
            error, text = _error_of(response)
            if error == "RecordNotFound" or "could not find" in text.lower():
                return PublishResult(ok=True, external_id=message.external_id)
        return self._failure(response, "deleting the post from Bluesky")

    def check(self) -> PublishResult:
        response = self.call("GET", "com.atproto.server.getSession",
                             doing="checking the Bluesky session", timeout=min(self.timeout, 10))
        if not (isinstance(response, Reply) and response.status_code == 200):
            return self._failure(response, "checking the Bluesky session")
        try:
            handle = response.json().get("handle")
        except (ValueError, AttributeError):
            handle = None
        return PublishResult(ok=True, account=handle if isinstance(handle, str) else None)
