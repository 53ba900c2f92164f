# tests/e2e/test_shutdown.py: a graceful stop and a restart of the real hpo-server (Python
# stdlib over raw sockets, auth on).
#   drain:   on SIGTERM an upload in flight finishes (its artifact is there after a restart), a
#            waiting long poll is answered at once, a new connection is refused, a new request on
#            a kept-alive connection gets 503 with Retry-After and Connection: close, and the
#            server exits 0;
#   bound:   a request that never completes holds the stop for --drain-seconds, not longer;
#   restart: a restarted server serves every study, trial, ASHA rung and promotion and the grid's
#            position as before (the same answers, and the grid goes on with points not given).
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   python3 tests/e2e/test_shutdown.py"""

import hashlib
import json
import math
import os
import socket
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import check, finish  # noqa: E402
from hpo_testserver import TestServer  # noqa: E402



class Conn:
    """One keep-alive HTTP/1.1 connection over a raw socket."""

    def __init__(self, url, token):
        u = urllib.parse.urlparse(url)
        self.addr, self.token = (u.hostname, u.port), token
        self.s = socket.create_connection(self.addr, timeout=30)
        self.buf = b""

    def send_head(self, method, path, length=None, ctype="application/json"):
        head = "%s %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n" % (
            method, path, self.token)
        if length is not None:
            head += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, length)
        self.s.sendall((head + "\r\n").encode())

    def read_answer(self):
        """(status, headers with lower-case names, body bytes)."""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed before an answer")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in
                   (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed in the middle of a body")
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_head(method, path, len(data) if body is not None else None)
        if data:
            self.s.sendall(data)
        status, headers, raw = self.read_answer()
        return status, headers, (json.loads(raw) if raw else None)

    def ok(self, method, path, body=None):
        status, _, out = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, out))
        return out

    def close(self):
        self.s.close()


def refused(url):
    u = urllib.parse.urlparse(url)
    try:
        socket.create_connection((u.hostname, u.port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def drain(srv):
    url = srv.url
    c = Conn(url, srv.token)
    c.ok("POST", "/api/v1/studies", {"name": "d", "sampler": {"type": "random", "seed": 1},
                                     "search_space": {"x": {"type": "float", "low": 0, "high": 1}}})
    c.ok("POST", "/api/v1/studies/d/trials", {"worker": "w"})
    version = c.ok("GET", "/api/v1/studies/d/columns?intermediate=false")["version"]

    # in flight at the signal: half an upload, and a waiting long poll
    payload = os.urandom(300000)
    up = Conn(url, srv.token)
    up.send_head("PUT", "/api/v1/studies/d/trials/0/artifacts/model.bin", len(payload),
                 "application/octet-stream")
    up.s.sendall(payload[:150000])
    poll = {}

    def long_poll():
        p = Conn(url, srv.token)
        t0 = time.monotonic()
        status, _, body = p.call("GET", "/api/v1/studies/d/columns?since=%s&wait=25"
                                 % urllib.parse.quote(version))
        poll.update(status=status, at=time.monotonic(), took=time.monotonic() - t0, body=body)
        p.close()

    th = threading.Thread(target=long_poll)
    th.start()
    time.sleep(0.5)  # both are in the server by now
    t_sig = time.monotonic()
    srv.proc.send_signal(15)

    th.join(10)
    check(poll.get("status") == 200 and poll["at"] - t_sig < 2,
          "a waiting long poll is answered at the stop", poll.get("status"))
    deadline = time.monotonic() + 3
    while not refused(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    check(refused(url), "a new connection is refused while the server stops")
    status, headers, body = c.call("GET", "/api/v1/studies/d")
    check(status == 503 and body["error"]["code"] == "unavailable" and
          headers.get("retry-after") and headers.get("connection", "").lower() == "close",
          "a new request on a kept-alive connection: 503, Retry-After, Connection: close",
          (status, headers.get("retry-after"), headers.get("connection")))
    c.close()
    up.s.sendall(payload[150000:])
    status, _, body = up.read_answer()
    check(200 <= status < 300, "the upload in flight finishes after the signal", (status, body[:200]))
    up.close()
    rc = srv.proc.wait(15)
    took = time.monotonic() - t_sig
    check(rc == 0 and took < 10, "the server exits 0 once the requests in flight are done",
          "exit %s after %.2f s" % (rc, took))
    srv.proc = None
    return payload


def upload_kept(srv, payload):
    c = Conn(srv.url, srv.token)
    got = [a for a in c.ok("GET", "/api/v1/studies/d/trials/0/artifacts")["artifacts"]
           if a["name"] == "model.bin"]
    check(len(got) == 1 and got[0]["size"] == len(payload) and
          got[0]["sha256"] == hashlib.sha256(payload).hexdigest(),
          "after a restart the upload finished during the stop is there, whole", got)
    c.close()


def bound(srv):
    c = Conn(srv.url, srv.token)
    c.ok("POST", "/api/v1/studies/d/trials", {"worker": "w"})
    stuck = Conn(srv.url, srv.token)
    stuck.send_head("PUT", "/api/v1/studies/d/trials/1/artifacts/stuck.bin", 100000,
                    "application/octet-stream")
    stuck.s.sendall(b"x" * 1000)  # and never the rest
    time.sleep(0.3)
    rc, took = srv.terminate()
    check(rc == 0 and 0.8 <= took < 4,
          "a request that never completes holds the stop for --drain-seconds (1 s), no longer",
          "exit %s after %.2f s" % (rc, took))
    stuck.close()
    c.close()


def fill_asha(c):
    """ASHA (rungs at steps 1, 3, 9): asks that run each trial to its rung, where it pauses, or
    to step 9, where it completes; some trials end paused, some promoted."""
    c.ok("POST", "/api/v1/studies", {
        "name": "a", "direction": "minimize", "max_trials": 40,
        "sampler": {"type": "random", "seed": 5},
        "pruner": {"type": "asha", "max_resource": 9},
        "search_space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}}})
    for _ in range(14):
        status, _, t = c.call("POST", "/api/v1/studies/a/trials", {"worker": "asha-w"})
        if status not in (200, 201):
            break
        n, lr = t["number"], t["params"]["lr"]
        res = t.get("resource") or {"from": 0, "to": 9}
        f = abs(math.log10(lr) + 2)
        action = "continue"
        for step in range(res["from"] + 1, res["to"] + 1):
            action = c.ok("POST", "/api/v1/studies/a/trials/%d/reports" % n,
                          {"step": step, "value": f + 1.0 / step})["action"]
            if action != "continue":
                break
        if action != "pause":
            c.ok("POST", "/api/v1/studies/a/trials/%d/finish" % n,
                 {"state": "complete", "value": f + 1.0 / 9})


def state(c):
    out = {}
    for path in ["/api/v1/studies/a", "/api/v1/studies/a/trials?limit=1000",
                 "/api/v1/studies/a/asha", "/api/v1/studies/a/best", "/api/v1/studies/g",
                 "/api/v1/studies/g/trials?limit=1000"]:
        out[path] = c.ok("GET", path)
    return out


def restart(srv):
    c = Conn(srv.url, srv.token)
    fill_asha(c)
    c.ok("POST", "/api/v1/studies", {
        "name": "g", "sampler": {"type": "grid"},
        "search_space": {"x": {"type": "categorical", "choices": [1, 2, 3]},
                         "y": {"type": "categorical", "choices": ["a", "b"]}}})
    seen = []
    for _ in range(3):
        t = c.ok("POST", "/api/v1/studies/g/trials", {"worker": "gw"})
        seen.append((t["params"]["x"], t["params"]["y"]))
        c.ok("POST", "/api/v1/studies/g/trials/%d/finish" % t["number"],
             {"state": "complete", "value": 1.0})
    before = state(c)
    asha = before["/api/v1/studies/a/asha"]
    check(any(r.get("paused") for r in asha["rungs"]) and asha["promotions"],
          "the ASHA study has paused and promoted trials", asha)
    c.close()
    rc, took = srv.terminate()
    check(rc == 0, "stopped", "exit %s after %.2f s" % (rc, took))
    srv.launch()
    c = Conn(srv.url, srv.token)
    after = state(c)
    for path in before:
        check(before[path] == after[path], "after a restart GET %s answers the same" % path)
    for _ in range(3):
        t = c.ok("POST", "/api/v1/studies/g/trials", {"worker": "gw"})
        seen.append((t["params"]["x"], t["params"]["y"]))
        c.ok("POST", "/api/v1/studies/g/trials/%d/finish" % t["number"],
             {"state": "complete", "value": 1.0})
    check(len(set(seen)) == 6, "the grid goes on where it was: 6 distinct points", seen)
    status, _, out = c.call("POST", "/api/v1/studies/g/trials", {"worker": "gw"})
    check(status == 409 and out["error"]["code"] == "study_complete",
          "and then has no point left", (status, out))
    c.close()


def main():
    binary, pg = os.environ.get("HPO_SERVER_BIN"), os.environ.get("HPO_TEST_PG")
    if not binary or not pg:
        sys.exit("test_shutdown.py: HPO_SERVER_BIN and HPO_TEST_PG must be set")
    srv = TestServer(binary, pg, "shutdown")
    try:
        os.environ["HPO_DRAIN_SECONDS"] = "20"
        srv.start()
        payload = drain(srv)
        os.environ["HPO_DRAIN_SECONDS"] = "1"
        srv.launch()
        upload_kept(srv, payload)
        bound(srv)
        srv.launch()
        restart(srv)
    finally:
        srv.stop()
    finish()


if __name__ == "__main__":
    main()
