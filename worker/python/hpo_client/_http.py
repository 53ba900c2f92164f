# hpo_client._http: the JSON-over-HTTP client of the hpo API, with retries, backoff and keep-alive.
"""Low-level access to the hpo HTTP API (standard library only).

One :class:`Client` per server URL; it is thread-safe (one keep-alive connection per thread).
Connection errors and 503 answers are retried with exponential backoff and full jitter (503's
Retry-After is honoured as a floor). A request that is not idempotent (enqueue) is retried only
when it certainly did not reach the server (connection refused, a 503 answer, or a keep-alive
connection the server had closed).
"""

import http.client
import json
import os
import random
import socket
import threading
import time
import urllib.parse

from .exceptions import InvalidArgumentError, UnavailableError, error_for

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
    """Talks JSON to one hpo server."""

    def __init__(self, url=None, timeout=60.0, retries=8, backoff=0.1, backoff_max=5.0):
        self.url = normalize_url(url)
        parts = urllib.parse.urlsplit(self.url)
        self._https = parts.scheme == "https"
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
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self.timeout)
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

    def _once(self, method, path, data):
        conn = self._connection()
        reused = self._local.used
        headers = {"Accept": "application/json"}
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
            except (ConnectionError, socket.timeout, http.client.HTTPException, OSError) as e:
                safe = idempotent or isinstance(e, ConnectionRefusedError) or (
                    getattr(e, "hpo_reused", False)
                    and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError,
                                       ConnectionResetError)))
                if getattr(e, "hpo_reused", False) and attempt == 1 and safe:
                    continue  # a stale keep-alive connection: reconnect at once
                if not safe or attempt > self.retries:
                    raise UnavailableError("cannot reach the hpo server at %s: %s"
                                           % (self.url, e or type(e).__name__),
                                           code="unavailable") from e
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
            raise error_for(resp.status, err.get("code"),
                            err.get("message") or "HTTP %d from %s %s" % (resp.status, method,
                                                                           path),
                            err.get("field"))

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


def client_for(storage):
    """The shared Client of a server URL (a Client passes through)."""
    if isinstance(storage, Client):
        return storage
    url = normalize_url(storage)
    with _clients_lock:
        c = _clients.get(url)
        if c is None:
            c = _clients[url] = Client(url)
        return c
