"""A stand-in for a Bluesky PDS (the XRPC endpoints Herald uses), checking what the real
service checks: sessions from an app password (createSession limited to 30 per 5 minutes),
access tokens that expire and refresh tokens that are used once, record keys, the post
lexicon's limits (300 graphemes, 3,000 bytes) and facets' byte ranges, duplicate record
keys refused; rate-limit replies on demand (429 with ratelimit-* headers)."""

import base64
import hashlib
import json
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import regex

from tests.platforms import Platform, Reply

POST = "app.bsky.feed.post"
TID = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
FEATURES = {"app.bsky.richtext.facet#link": "uri", "app.bsky.richtext.facet#mention": "did",
            "app.bsky.richtext.facet#tag": "tag"}
SESSION_LIMIT, SESSION_WINDOW = 30, 300


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def error(status: int, name: str, message: str, headers: dict | None = None) -> Reply:
    return Reply(status, {"error": name, "message": message}, headers=headers or {})


class Bluesky(Platform):
    """One account (`handle`, app password `password`) plus others that only resolve."""

    def __init__(self, handle: str = "alice.bsky.social", password: str = "abcd-efgh-ijkl-mnop"):
        super().__init__()
        self.handle, self.password = handle, password
        self.did = "did:plc:alice0000000000000000000"
        self.known = {handle: self.did, "bob.example.com": "did:plc:bob00000000000000000000"}
        # How long tokens live (seconds); their `exp` says so, as the real ones do.
        self.access_ttl, self.refresh_ttl = 7200.0, 90 * 86400.0
        self.access: dict[str, float] = {}  # token -> when it expires
        self.refresh: dict[str, float] = {}  # unused refresh tokens -> when they expire
        self.session_times: list[float] = []
        self.records: dict[tuple[str, str], dict] = {}  # (collection, rkey) -> record
        self.deleted: list[str] = []
        self.issued = 0

    # -- tests' controls

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (their `exp` still says later:
        the server decides, as a revoked or clock-skewed token would show)."""
        with self.lock:
            self.access = dict.fromkeys(self.access, 0.0)

    def rate_limit(self, nsid: str, reset_in: int = 2) -> int:
        """The next call of `nsid` gets 429 with ratelimit-reset `reset_in` s from now
        (returned, in seconds since the epoch)."""
        reset = int(time.time()) + reset_in
        self.by_path.setdefault(f"/xrpc/{nsid}", []).append(error(
            429, "RateLimitExceeded", "Rate Limit Exceeded",
            {"ratelimit-limit": "30", "ratelimit-remaining": "0",
             "ratelimit-reset": str(reset), "ratelimit-policy": "30;w=300"}))
        return reset

    def calls(self, nsid: str) -> list:
        with self.lock:
            return [r for r in self.received if urlsplit(r.path).path == f"/xrpc/{nsid}"]

    def posts_made(self) -> list[dict]:
        return [r for (c, _), r in self.records.items() if c == POST]

    # -- the server

    def _token(self, scope: str, ttl: float) -> tuple[str, float]:
        self.issued += 1
        expires = time.time() + ttl
        payload = {"scope": scope, "sub": self.did, "iat": int(time.time()),
                   "exp": int(expires), "jti": f"{scope}-{self.issued}"}
        signature = hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]
        return f"{_b64({'typ': 'at+jwt', 'alg': 'ES256K'})}.{_b64(payload)}.{signature}", expires

    def _new_session(self) -> Reply:
        access, access_expires = self._token("com.atproto.access", self.access_ttl)
        refresh, refresh_expires = self._token("com.atproto.refresh", self.refresh_ttl)
        self.access[access] = access_expires
        self.refresh[refresh] = refresh_expires
        return Reply(200, {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle,
                           "did": self.did, "active": True})

    def _bearer(self, got) -> str:
        value = got.headers.get("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else ""

    def _authenticate(self, got) -> Reply | None:
        token = self._bearer(got)
        if not token:
            return error(401, "AuthenticationRequired", "Authentication Required")
        if token not in self.access:
            return error(400, "InvalidToken", "Token could not be verified")
        if self.access[token] <= time.time():
            return error(400, "ExpiredToken", "Token has expired")
        return None

    def answer(self, got):
        parts = urlsplit(got.path)
        nsid = parts.path.removeprefix("/xrpc/")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            body = got.json() if got.body else {}
        except ValueError:
            return error(400, "InvalidRequest", "Request body is not JSON")
        with self.lock:
            if nsid == "com.atproto.server.createSession" and got.method == "POST":
                return self._create_session(body)
            if nsid == "com.atproto.server.refreshSession" and got.method == "POST":
                return self._refresh_session(got)
            if nsid == "com.atproto.identity.resolveHandle" and got.method == "GET":
                did = self.known.get((query.get("handle") or "").lower())
                return Reply(200, {"did": did}) if did else error(
                    400, "InvalidRequest", "Unable to resolve handle")
            if nsid == "com.atproto.repo.getRecord" and got.method == "GET":
                return self._get_record(query)
            refused = self._authenticate(got)
            if refused:
                return refused
            if nsid == "com.atproto.server.getSession" and got.method == "GET":
                return Reply(200, {"handle": self.handle, "did": self.did, "active": True})
            if nsid in ("com.atproto.repo.createRecord", "com.atproto.repo.putRecord") \
                    and got.method == "POST":
                return self._write(body, put=nsid.endswith("putRecord"))
            if nsid == "com.atproto.repo.deleteRecord" and got.method == "POST":
                return self._delete(body)
        return error(501, "MethodNotImplemented", "Method Not Implemented")

    def _create_session(self, body) -> Reply:
        now = time.time()
        self.session_times = [t for t in self.session_times if t > now - SESSION_WINDOW]
        if len(self.session_times) >= SESSION_LIMIT:
            reset = int(self.session_times[0] + SESSION_WINDOW) + 1
            return error(429, "RateLimitExceeded", "Rate Limit Exceeded",
                         {"ratelimit-limit": str(SESSION_LIMIT), "ratelimit-remaining": "0",
                          "ratelimit-reset": str(reset),
                          "ratelimit-policy": f"{SESSION_LIMIT};w={SESSION_WINDOW}"})
        self.session_times.append(now)
        if not isinstance(body.get("identifier"), str) or not isinstance(body.get("password"),
                                                                          str):
            return error(400, "InvalidRequest", "Input must have the property \"identifier\"")
        if body["identifier"].lower() not in (self.handle, self.did) \
                or body["password"] != self.password:
            return error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._new_session()

    def _refresh_session(self, got) -> Reply:
        token = self._bearer(got)
        if token not in self.refresh:
            return error(400, "InvalidToken", "Token has been revoked")
        if self.refresh.pop(token) <= time.time():
            return error(400, "ExpiredToken", "Token has expired")
        return self._new_session()

    def _get_record(self, query) -> Reply:
        record = self.records.get((query.get("collection"), query.get("rkey")))
        if query.get("repo") not in (self.did, self.handle) or record is None:
            return error(400, "RecordNotFound", f"Could not locate record: {query.get('rkey')}")
        uri = f"at://{self.did}/{query['collection']}/{query['rkey']}"
        return Reply(200, {"uri": uri, "cid": "bafyrei" + query["rkey"], "value": record})

    def _write(self, body, put: bool) -> Reply:
        if body.get("repo") not in (self.did, self.handle):
            return error(400, "InvalidRequest", "Invalid repo")
        collection, rkey, record = body.get("collection"), body.get("rkey"), body.get("record")
        if collection != POST:
            return error(400, "InvalidRequest", "Unsupported collection")
        if rkey is None and not put:
            rkey = f"{int(time.time() * 1e6):013d}"[-13:]  # not used by Herald
        if not isinstance(rkey, str) or not TID.fullmatch(rkey):
            return error(400, "InvalidRequest", f"Invalid TID: {rkey}")
        problem = self._invalid_post(record)
        if problem:
            return error(400, "InvalidRecord", f"Invalid {POST} record: {problem}")
        if not put and (collection, rkey) in self.records:
            return error(400, "InvalidSwap", "Record already exists")
        self.records[(collection, rkey)] = record
        return Reply(200, {"uri": f"at://{self.did}/{collection}/{rkey}",
                           "cid": "bafyrei" + rkey, "validationStatus": "valid",
                           "commit": {"cid": f"bafycommit{len(self.records)}", "rev": rkey}})

    @staticmethod
    def _invalid_post(record) -> str | None:
        if not isinstance(record, dict) or record.get("$type") != POST:
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return "Record must have the property \"text\""
        if len(regex.findall(r"\X", text)) > 300:
            return "Record/text must not be longer than 300 graphemes"
        size = len(text.encode())
        if size > 3000:
            return "Record/text must not be longer than 3000 characters"
        try:
            created = datetime.fromisoformat(str(record.get("createdAt")).replace("Z", "+00:00"))
        except ValueError:
            return "Record/createdAt must be an valid atproto datetime"
        if created.tzinfo is None:
            return "Record/createdAt must be an valid atproto datetime"
        for n, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict):
                return f"Record/facets/{n} must have the property \"index\""
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= size):
                return f"Record/facets/{n}/index is outside the text"
            features = facet.get("features")
            if not isinstance(features, list) or not features:
                return f"Record/facets/{n}/features must be a non-empty array"
            for feature in features:
                field = FEATURES.get(feature.get("$type") if isinstance(feature, dict) else None)
                if field is None or not isinstance(feature.get(field), str):
                    return f"Record/facets/{n}/features has an invalid feature"
        return None

    def _delete(self, body) -> Reply:
        if body.get("repo") not in (self.did, self.handle):
            return error(400, "InvalidRequest", "Invalid repo")
        # The real PDS answers 200 whether or not the record was there.
        if self.records.pop((body.get("collection"), body.get("rkey")), None) is not None:
            self.deleted.append(body["rkey"])
        return Reply(200, {})
