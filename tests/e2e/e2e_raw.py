# e2e_raw: raw HTTP/1.1 over a socket for the hostile-input and SQL-injection tests (http.client
# refuses the malformed requests they send), and psql dumps of the server's tables.
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_testserver import TestServer, conninfo_with_db  # noqa: E402,F401


class Answer:
    """What came back on one connection: status (None when the server closed without a status
    line), headers (lower-case names), body bytes, and json (the parsed body or None)."""

    def __init__(self, status, headers, body, note=""):
        self.status, self.headers, self.body, self.note = status, headers, body, note
        self.json = None
        if body and headers.get("content-type", "").startswith("application/json"):
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def __repr__(self):
        return "status=%s body=%r%s" % (self.status, self.body[:200],
                                        " (%s)" % self.note if self.note else "")


def parse_answer(data, note=""):
    """The first response in data (bytes read until the server closed)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not data or not sep:
        return Answer(None, {}, b"", note or ("closed" if not data else "partial: %r" % data[:80]))
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return Answer(None, {}, b"", "bad status line %r" % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    n = headers.get("content-length")
    body = rest[:int(n)] if n is not None and n.isdigit() else rest
    return Answer(status, headers, body, note)


def connect(host, port, source=None, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    return s


def read_all(s, timeout):
    """Bytes until the peer closes; raises socket.timeout when it stays open past timeout."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no close within %.0f s" % timeout)
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break  # what arrived before the reset is kept
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def exchange(host, port, data, timeout=10.0, half_close=False, source=None):
    """Sends data on a new connection and reads until the server closes. An error while sending
    (the server closed first) still reads what it answered. Answer.note says 'hang' when the
    server neither answered nor closed within timeout."""
    s = connect(host, port, source, timeout)
    note = ""
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            note = "closed while sending"
        try:
            got = read_all(s, timeout)
        except socket.timeout:
            return Answer(None, {}, b"", "hang")
        return parse_answer(got, note)
    finally:
        s.close()


def request_bytes(method, path, body=None, token=None, headers=None, host="127.0.0.1"):
    """One HTTP/1.1 request with Connection: close. body: bytes, str or a JSON-able value."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(path, str):
        path = path.encode("utf-8")
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: " + host.encode(),
             b"Connection: close"]
    if token:
        lines.append(b"Authorization: Bearer " + token.encode())
    for k, v in (headers or {}).items():
        lines.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    if body is not None:
        lines.append(b"Content-Type: application/json")
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


class Client:
    """The server at url, with a default token."""

    def __init__(self, url, token):
        hostport = url.split("//", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.token = token

    def send(self, data, timeout=10.0, **kw):
        return exchange(self.host, self.port, data, timeout, **kw)

    def call(self, method, path, body=None, token=..., headers=None, timeout=10.0):
        tok = self.token if token is ... else token
        return self.send(request_bytes(method, path, body, tok, headers), timeout)

    def ok(self, method, path, body=None, token=..., want=(200, 201)):
        """A call that must succeed (test setup); its parsed answer."""
        a = self.call(method, path, body, token)
        if a.status not in want:
            raise AssertionError("%s %s -> %r" % (method, path, a))
        return a.json

    def healthy(self):
        a = self.call("GET", "/healthz", token=None)
        return a.status == 200 and a.json == {"status": "ok"}


def is_json_error(a):
    """An answer of the {"error":{"code":str,"message":str}} shape."""
    e = a.json.get("error") if isinstance(a.json, dict) else None
    return (isinstance(e, dict) and isinstance(e.get("code"), str) and e["code"] != "" and
            isinstance(e.get("message"), str))


def psql_rows(conninfo, sql):
    """The rows of one query, as lines of text (split at \n only: U+2028 is text)."""
    r = subprocess.run(["psql", conninfo, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr.strip()))
    return r.stdout.split("\n")[:-1] if r.stdout else []


def db_snapshot(conninfo):
    """Every table of the public schema as sorted JSON rows, tokens.last_used_at left out (each
    authenticated request may touch it); {table: [row, ...]}."""
    tables = psql_rows(conninfo, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                 "ORDER BY tablename")
    snap = {}
    for t in tables:
        drop = " - 'last_used_at'" if t == "tokens" else ""
        snap[t] = psql_rows(conninfo, 'SELECT (to_jsonb(x)%s)::text FROM "%s" x ORDER BY 1'
                            % (drop, t))
    return snap


def snapshot_diff(before, after):
    """Lines saying how two snapshots differ ([] when equal)."""
    out = []
    for t in sorted(set(before) | set(after)):
        b, a = before.get(t), after.get(t)
        if b is None or a is None:
            out.append("table %s %s" % (t, "appeared" if b is None else "disappeared"))
            continue
        for row in sorted(set(b) - set(a)):
            out.append("%s: lost %s" % (t, row[:300]))
        for row in sorted(set(a) - set(b)):
            out.append("%s: new  %s" % (t, row[:300]))
    return out
