# hpo_client._http: the JSON-over-HTTP client of the hpo API, with retries, backoff and keep-alive.
"""Low-level access to the hpo HTTP API (standard library only).

One :class:`Client` per server URL; it is thread-safe (one keep-alive connection per thread).
Connection errors and 503 answers are retried with exponential backoff and full jitter (503's
Retry-After is honoured as a floor). A request that is not idempotent (enqueue) is retried only
when it certainly did not reach the server (connection refused, a 503 answer, or a keep-alive
connection the server had closed). 401 and 403 are never retried, nor is an https certificate
that does not verify.

Every request but ``/healthz`` carries ``Authorization: Bearer <token>``; the token and the CA
file come from the arguments or the environment (see :mod:`hpo_client._auth`).
"""

import http.client
import json
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse

from . import _auth
from .exceptions import CertificateError, InvalidArgumentError, UnavailableError, error_for

DEFAULT_URL = "http://127.0.0.1:8080"
API = "/api/v1"


def default_url():
    """The server URL: env HPO_SERVER, else http://127.0.0.1:8080."""
    return os.environ.get("HPO_SERVER") or DEFAULT_URL


def normalize_url(storage):
    """The server's base URL from a ``storage`` argument (None, a URL, or a Client)."""
    if storage is None:
        storage = default_url()
    if not isinstance(storage, str):
        raise TypeError("storage must be the hpo server's URL (a str), got %r" % (storage,))
    url = storage.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError("storage must be the hpo server's http(s) URL, e.g. "
                         "'http://127.0.0.1:8080' (got %r; Optuna's RDB and journal storages "
                         "are not supported)" % storage)
    if url.endswith(API):
        url = url[: -len(API)]
    return url


def quote(segment):
    """A path segment, percent-encoded."""
    return urllib.parse.quote(str(segment), safe="")


class Response:
    """A decoded answer: status, JSON body (or None) and headers."""

    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def retry_after(self, default=1.0):
        try:
            return max(0.0, float(self.headers.get("Retry-After", default)))
        except (TypeError, ValueError):
            return default


class Client:
    """Talks JSON to one hpo server. ``token`` / ``token_file`` (else env HPO_TOKEN /
    HPO_TOKEN_FILE) authenticate it; ``cacert`` (else env HPO_CACERT) verifies an https
    server."""

    def __init__(self, url=None, timeout=60.0, retries=8, backoff=0.1, backoff_max=5.0, *,
                 token=None, token_file=None, cacert=None, credentials=None):
        self.url = normalize_url(url)
        parts = urllib.parse.urlsplit(self.url)
        self._https = parts.scheme.lower() == "https"
        if cacert is not None and not self._https:
            raise ValueError("cacert is for an https server; %s is plain http" % self.url)
        if credentials is None:
            credentials = _auth.resolve(token, token_file, cacert)
        elif token is not None or token_file is not None or cacert is not None:
            raise ValueError("give either credentials or token, token_file and cacert")
        self._creds = credentials
        self._ssl = credentials.ssl_context() if self._https else None
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._local = threading.local()

    # ---- connections ----

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout,
                                                   context=self._ssl)
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
            self._local.used = False
        return conn

    def _drop_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        self._local.conn = None

    def close(self):
        """Closes this thread's connection."""
        self._drop_connection()

    def auth_headers(self):
        """{"Authorization": "Bearer ..."}, or {} without a token: for a request this client
        does not make itself (an artifact upload with urllib)."""
        h = self._creds.header()
        return {} if h is None else {"Authorization": h}

    @property
    def ssl_context(self):
        """The verifying TLS context of an https server (None for http), for such requests."""
        return self._ssl

    @property
    def credentials(self):
        """Where this client's token came from (a Credentials; its repr never shows the
        token)."""
        return self._creds

    def __repr__(self):
        return "Client(url=%r, token=%s)" % (
            self.url, "<hidden, from %s>" % self._creds.source if self._creds.source else None)

    def _once(self, method, path, data):
        conn = self._connection()
        reused = self._local.used
        headers = {"Accept": "application/json"}
        auth = self._creds.header()
        if auth is not None:
            headers["Authorization"] = auth
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, self._prefix + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except BaseException as e:
            self._drop_connection()
            e.hpo_reused = reused
            raise
        self._local.used = True
        if resp.getheader("Connection", "").lower() == "close":
            self._drop_connection()
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw.decode("utf-8"))
            except ValueError:
                parsed = {"error": {"code": "internal",
                                    "message": "answer is not JSON: %r" % raw[:200]}}
        return Response(resp.status, parsed, {k: v for k, v in resp.getheaders()})

    # ---- requests ----

    def request(self, method, path, body=None, idempotent=True, ok=(200, 201, 204)):
        """Sends one request, retrying as described above; returns the Response of a status in
        ``ok``, raises the HpoError of an error answer."""
        data = None
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False).encode("utf-8")
            except ValueError as e:
                raise InvalidArgumentError("hpo refuses NaN and infinite numbers: %s" % e,
                                           code="invalid_argument") from None
        delay = self.backoff
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._once(method, API + path, data)
            except ssl.SSLCertVerificationError as e:
                # a certificate that does not verify now will not verify in a second either
                raise CertificateError(
                    "cannot verify the TLS certificate of the hpo server at %s: %s (give the CA "
                    "that signed it with cacert= or HPO_CACERT)"
                    % (self.url, getattr(e, "verify_message", None) or e)) from None
            except (ConnectionError, socket.timeout, http.client.HTTPException, OSError) as e:
                safe = idempotent or isinstance(e, ConnectionRefusedError) or (
                    getattr(e, "hpo_reused", False)
                    and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError,
                                       ConnectionResetError)))
                if getattr(e, "hpo_reused", False) and attempt == 1 and safe:
                    continue  # a stale keep-alive connection: reconnect at once
                if not safe or attempt > self.retries:
                    raise UnavailableError(self._creds.redact(
                        "cannot reach the hpo server at %s: %s"
                        % (self.url, e or type(e).__name__)), code="unavailable") from e
                self._sleep(delay, 0.0)
                delay = min(delay * 2, self.backoff_max)
                continue
            if resp.status in ok:
                return resp
            if resp.status == 503 and attempt <= self.retries:
                self._sleep(delay, resp.retry_after(0.0))
                delay = min(delay * 2, self.backoff_max)
                continue
            err = (resp.body or {}).get("error") if isinstance(resp.body, dict) else None
            err = err if isinstance(err, dict) else {}
            message = err.get("message") or "HTTP %d from %s %s" % (resp.status, method, path)
            raise error_for(resp.status, err.get("code"),
                            self._creds.redact(message + self._auth_hint(resp.status)),
                            err.get("field"))

    def _auth_hint(self, status):
        """What to do about a 401 or 403, naming where the token came from (never the token)."""
        src = self._creds.source
        if status == 401:
            if src is None:
                return ("; no token was sent: pass token= or token_file=, or set HPO_TOKEN or "
                        "HPO_TOKEN_FILE")
            return "; the token from %s was refused (unknown, expired or revoked)" % src
        if status == 403:
            return ("; the token from %s does not allow this (its scope or study restriction)"
                    % (src or "nowhere"))
        return ""

    @staticmethod
    def _sleep(delay, floor):
        time.sleep(max(floor, random.uniform(0, delay)))

    def get(self, path):
        return self.request("GET", path).body

    def post(self, path, body=None, idempotent=True, ok=(200, 201, 204)):
        return self.request("POST", path, {} if body is None else body, idempotent, ok)

    def delete(self, path):
        return self.request("DELETE", path)


_clients = {}
_clients_lock = threading.Lock()


def client_for(storage, token=None, token_file=None, cacert=None):
    """The shared Client of a server URL and credentials (a Client passes through). The token
    and CA file are resolved now (arguments, else HPO_TOKEN / HPO_TOKEN_FILE / HPO_CACERT), so a
    changed environment gets a new client."""
    if isinstance(storage, Client):
        if token is not None or token_file is not None or cacert is not None:
            raise ValueError("storage is a Client: give token, token_file and cacert to the "
                             "Client, not here")
        return storage
    url = normalize_url(storage)
    if cacert is not None and urllib.parse.urlsplit(url).scheme.lower() != "https":
        raise ValueError("cacert is for an https server; %s is plain http" % url)
    creds = _auth.resolve(token, token_file, cacert)
    key = (url,) + creds.key()
    with _clients_lock:
        c = _clients.get(key)
        if c is None:
            c = _clients[key] = Client(url, credentials=creds)
        return c
