# test_hostile_input: hundreds of malformed and hostile requests, made from tables, against the real
# hpo-server with auth on; each must get a 4xx JSON error (or, for transport abuse, a closed
# connection), /healthz must answer between batches, and the database must come out unchanged.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   python3 tests/e2e/test_hostile_input.py"""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_raw import (Client, TestServer, conninfo_with_db, connect, db_snapshot,  # noqa: E402
                     exchange, is_json_error, request_bytes, snapshot_diff)

BASE, OTHER = "hostile-base", "hostile-other"
IDLE_TIMEOUT_S = 3  # the server's --idle-timeout here: the slow-loris sockets must be cut after it
SLOW_SOCKETS = 10
SLOW_MIN_S = 3 * IDLE_TIMEOUT_S  # each drips past the idle timeout several times
FLOOD_SOCKETS = 300
PER_IP_LIMIT = 100  # the server's --max-connections-per-ip here: the flood goes past it


class Raw(str):
    """JSON text put into a body as it is (NaN, 1e400, a 10,000-deep array)."""


def body_text(obj):
    """obj as JSON text, Raw values spliced in verbatim."""
    raws = []

    def mark(v):
        if isinstance(v, Raw):
            raws.append(str(v))
            return "\u0001RAW%d\u0001" % (len(raws) - 1)
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    text = json.dumps(mark(obj))
    for i, r in enumerate(raws):
        text = text.replace('"\\u0001RAW%d\\u0001"' % i, r)
    return text.encode("utf-8")


# ---- the request bodies, valid as they stand (checked at the very end) ---------------------------
T1 = "/api/v1/studies/%s/trials/1" % BASE  # trial 1 of the baseline study: running
ENDPOINTS = [  # name, method, path, a valid body, its fields: name -> (kind, required)
    ("study create", "POST", "/api/v1/studies",
     {"name": "hostile-new", "direction": "minimize", "sampler": {"type": "random", "seed": 1},
      "pruner": {"type": "median"},
      "search_space": {"x": {"type": "float", "low": 0, "high": 1}}, "max_trials": 10,
      "load_if_exists": False, "user_attrs": {"k": "v"}, "heartbeat_grace": 60},
     {"name": ("str", True), "direction": ("str", False), "sampler": ("obj", False),
      "pruner": ("obj", False), "search_space": ("obj", False), "max_trials": ("int", False),
      "load_if_exists": ("bool", False), "user_attrs": ("obj", False),
      "heartbeat_grace": ("num", False)}),
    ("ask", "POST", "/api/v1/studies/%s/trials" % BASE,
     {"worker": "w-1", "idempotency_key": "k-1", "params": {"x": 0.5}},
     {"worker": ("str", False), "idempotency_key": ("str", False), "params": ("obj", False)}),
    ("queue", "POST", "/api/v1/studies/%s/queue" % BASE, {"params": {"x": 0.25}},
     {"params": ("obj", True)}),
    ("suggest", "POST", T1 + "/suggest",
     {"name": "y", "distribution": {"type": "float", "low": 0, "high": 1}},
     {"name": ("str", True), "distribution": ("obj", True)}),
    ("reports", "POST", T1 + "/reports", {"step": 5, "value": 0.5},
     {"step": ("int", True), "value": ("num", True)}),
    ("heartbeat", "POST", T1 + "/heartbeat", {"worker": "w-1"}, {"worker": ("str", False)}),
    ("finish", "POST", T1 + "/finish", {"state": "complete", "value": 0.5},
     {"state": ("str", True), "value": ("num", False)}),
    ("workers", "POST", "/api/v1/workers", {"id": "w-new", "host": "h", "slots": 2, "gpus": []},
     {"id": ("str", True), "host": ("str", False), "slots": ("int", False),
      "gpus": ("list", False)}),
    ("tokens", "POST", "/api/v1/tokens",
     {"scope": "read", "study": BASE, "name": "n", "expires_in": 60},
     {"scope": ("str", True), "study": ("str", False), "name": ("str", False),
      "expires_in": ("int", False)}),
]

# a value of the wrong type for each kind of field (null too where the field is required)
WRONG = {
    "str": [1, 1.5, True, False, [], {}, ["x"], {"a": "b"}],
    "int": ["5", 5.5, True, [], {}, "x", Raw("1e-400")],
    "num": ["0.5", True, False, [], {}, "x", [0.5]],
    "bool": ["true", 1, 0, [], {}, "false"],
    "obj": ["x", 1, [], True, ["a"], 1.5],
    "list": ["x", 1, {}, True, 1.5],
}
# numbers no field accepts: JSON cannot carry them or they do not fit a double or an int64
BAD_NUMBERS = ["1e400", "-1e400", "9223372036854775808", "18446744073709551616",
               "-9223372036854775809", "NaN", "-NaN", "Infinity", "-Infinity", "0x10", "01",
               "+1", ".5", "1.", "1e", "--1", "1_000"]
# invalid text where a string goes: bytes that are not UTF-8, NUL, lone surrogates
BAD_STRINGS = [b'"\xff"', b'"a\xc0\xafb"', b'"\xed\xa0\x80"', b'"a\\u0000b"', b'"\\ud800"',
               b'"\\udc00x"', b'"a\x00b"', b'"\xf8\x88\x80\x80\x80"', b'"unterminated']
# values that are the right type but out of range, per (endpoint, field)
OUT_OF_RANGE = {
    ("study create", "name"): ["", "..", ".", "../etc", "/etc/passwd", "a/b", "%2e%2e", "a b",
                               "stüdy", "a" * 129, "a" * 100000, "a\u0001", "a\\b"],
    ("study create", "direction"): ["up", "", "MINIMIZE"],
    ("study create", "directions"): ["minimize", [], [1], ["up"], ["minimize"] * 17],
    ("study create", "sampler"): [{"type": 1}, {"type": "nope"}, {"type": "tpe", "bogus": 1}],
    ("study create", "pruner"): [{"type": 1}, {"type": "nope"}, {"type": "median", "bogus": 1}],
    ("study create", "search_space"): [
        {"x": 1}, {"x": {"type": "float", "low": "0", "high": 1}},
        {"x": {"type": "float", "low": 1, "high": 0}}, {"": {"type": "float", "low": 0, "high": 1}},
        {"x": {"type": "categorical", "choices": []}},
        {"x": {"type": "categorical", "choices": [[1]]}},
        {"x": {"type": "categorical", "choices": "ab"}},
        {"x": {"type": "int", "low": 0.5, "high": 2}},
        {"x": {"type": "float", "low": 0, "high": 1, "log": True}},
        {"x": {"type": "float", "low": 0, "high": Raw("1e400")}},
        {"x\u0001": {"type": "float", "low": 0, "high": 1}},
        {"x" * 300: {"type": "float", "low": 0, "high": 1}}],
    ("study create", "max_trials"): [0, -1, 1000000001, Raw("-9223372036854775808")],
    ("study create", "heartbeat_grace"): [0, -1, 0.01, 604801, Raw("1e-400")],
    ("ask", "idempotency_key"): ["k" * 129],
    ("ask", "worker"): ["w" * 257],
    ("ask", "params"): [{"x": "a"}, {"x": 2.0}, {"x": []}, {"x": Raw("1e400")}, {"": 1},
                        {"a\u0001": 1}, {"p" * 300: 1}],
    ("queue", "params"): [{"x": "a"}, {"x": -1}, {"x": {}}, {"": 1}, {"p" * 300: 1}],
    ("suggest", "name"): ["", "y" * 257, "a\u0001b", "a\u007f"],
    ("suggest", "distribution"): [
        {"type": 1}, {"type": "nope"}, {"low": 0, "high": 1},
        {"type": "float", "low": "0", "high": 1}, {"type": "float", "low": 1, "high": 0},
        {"type": "float", "low": 0, "high": 1, "log": "yes"},
        {"type": "float", "low": 0, "high": 1, "step": "a"},
        {"type": "float", "low": 0, "high": 1, "step": -1},
        {"type": "int", "low": 0.5, "high": 3}, {"type": "categorical", "choices": "abc"},
        {"type": "categorical", "choices": []}, {"type": "categorical", "choices": [[1]]},
        {"type": "categorical", "choices": [{}]}, {"type": "float", "low": 0, "high": 1, "x": 1},
        {"type": "float", "low": -1, "high": 1, "log": True}],
    ("reports", "step"): [-1, Raw("-9223372036854775808"), None],
    ("reports", "value"): [None],
    ("heartbeat", "worker"): ["w" * 257],
    ("finish", "state"): ["done", "running", "waiting", "paused", "", "COMPLETE", None],
    ("finish", "value"): [None],
    ("workers", "id"): ["", "w" * 129, None],
    ("workers", "host"): ["h" * 257],
    ("workers", "slots"): [-1, 1048577, Raw("-9223372036854775808")],
    ("tokens", "scope"): ["root", "", "ADMIN", None],
    ("tokens", "study"): ["../x", "a b", "", "s" * 300],
    ("tokens", "name"): ["n" * 201, "a\u0001b", "a\nb"],
    ("tokens", "expires_in"): [0, -1, 1.5, Raw("-9223372036854775808")],
}
# whole bodies that break a rule between fields, per endpoint
WHOLE_BODIES = {
    "study create": [{"name": "hostile-new", "direction": "minimize", "directions": ["minimize"]}],
    "reports": [{"reports": []}, {"reports": "x"}, {"reports": [1]},
                {"reports": [{"step": "1", "value": 1}]}, {"reports": [{"step": 1}]},
                {"reports": [{"step": -1, "value": 1}]},
                {"reports": [{"step": 1, "value": Raw("NaN")}]},
                {"step": 1, "value": 1, "reports": [{"step": 2, "value": 1}]},
                {"reports": [{"step": i, "value": 0.5} for i in range(10001)]}],
    "finish": [{"state": "complete"}, {"state": "complete", "value": 1, "values": [1]},
               {"state": "complete", "values": []}, {"state": "complete", "values": ["a"]},
               {"state": "complete", "values": [1] * 17}, {"state": "complete", "values": "x"},
               {"state": "complete", "value": 1, "reason": "r"},
               {"state": "fail", "reason": "r" * 4097}, {"state": "fail", "reason": 1},
               {"state": "pruned", "reason": "r"}],
    "workers": [{"id": "w", "gpus": "x"}, {"id": "w", "gpus": {}}],
    "tokens": [{"scope": "read", "study": BASE, "study_prefix": "hostile"}],
}


def drop(obj, key):
    return {k: v for k, v in obj.items() if k != key}


def with_value(obj, key, value):
    """obj with key set to value, in its place."""
    out = dict(obj)
    out[key] = value
    return out


class Case:
    """One hostile request. kind 'app': the answer must be a JSON error whose status is in want;
    'transport': any 4xx (libmicrohttpd's own pages are HTML), a status in want, or the connection
    closed; 'too large': a 413 JSON error or the connection closed (a body cut off mid-way)."""

    def __init__(self, cat, label, data, want=(400,), kind="app", half_close=False,
                 timeout=10.0):
        self.cat, self.label, self.data, self.want = cat, label, data, tuple(want)
        self.kind, self.half_close, self.timeout = kind, half_close, timeout


def req(method, path, body=None, token=None, headers=None):
    if isinstance(body, (dict, list)):
        body = body_text(body)
    return request_bytes(method, path, body, token, headers)


# ---- the tables of cases -------------------------------------------------------------------------

def malformed_json_cases(admin):
    """Bodies that are not a JSON object: truncated, nested 10,000 deep, duplicate keys,
    numbers and literals JSON has no room for, invalid text in strings."""
    out = []
    for name, method, path, base, fields in ENDPOINTS:
        text = body_text(base)
        cuts = sorted({1, 2, len(text) // 4, len(text) // 3, len(text) // 2, len(text) - 2,
                       len(text) - 1})
        for cut in cuts:
            out.append(Case("truncated JSON", "%s cut at %d" % (name, cut),
                            req(method, path, text[:cut], admin)))
        for junk in [b"[]", b"1", b'"x"', b"null", b"true", b"[" + text + b"]", b" ", b"\x00",
                     b"\xef\xbb\xbf" + text, text + b"x", text + text, text + b"\x00"]:
            out.append(Case("not one JSON object", "%s %r" % (name, junk[:20]),
                            req(method, path, junk, admin)))
        deep = [b"[" * 10000 + b"]" * 10000, b'{"a":' * 10000 + b"1" + b"}" * 10000,
                b"[" * 10000, b'{"a":' * 10000]
        first = next(iter(base))
        deep.append(body_text(with_value(base, first, Raw("[" * 10000 + "]" * 10000))))
        deep.append(body_text(with_value(base, first, Raw('{"a":' * 10000 + "1" + "}" * 10000))))
        for i, d in enumerate(deep):
            out.append(Case("nested 10,000 deep", "%s #%d" % (name, i),
                            req(method, path, d, admin)))
        for key in list(base)[:2]:
            dup = text[:-1] + b", " + json.dumps(key).encode() + b": " + json.dumps(
                base[key]).encode() + b"}"
            out.append(Case("duplicate keys", "%s %s" % (name, key), req(method, path, dup, admin)))
        for key, (kind, _) in fields.items():
            for lit in BAD_NUMBERS:
                out.append(Case("numbers and literals", "%s %s=%s" % (name, key, lit),
                                req(method, path, with_value(base, key, Raw(lit)), admin)))
        skey = next((k for k, (kind, _) in fields.items() if kind == "str"), "bogus")
        for bad in BAD_STRINGS:
            marker = b'"\x01MARK\x01"'
            t = body_text(with_value(base, skey, "\x01MARK\x01"))
            t = t.replace(b'"\\u0001MARK\\u0001"', marker).replace(marker, bad)
            out.append(Case("invalid UTF-8 and NUL", "%s %s=%r" % (name, skey, bad),
                            req(method, path, t, admin)))
        # a string for a key: the same bytes as an object key
        for bad in BAD_STRINGS[:6]:
            t = text[:-1] + b", " + bad + b": 1}"
            out.append(Case("invalid UTF-8 and NUL", "%s key %r" % (name, bad),
                            req(method, path, t, admin)))
    return out


def wrong_type_cases(admin):
    """Every field of every body with a value of the wrong type, out of range, or left out when
    it is required; an unknown field; rules between fields."""
    out = []
    for name, method, path, base, fields in ENDPOINTS:
        for key, (kind, required) in fields.items():
            values = list(WRONG[kind])
            if required:
                values.append(None)
                out.append(Case("required field missing", "%s without %s" % (name, key),
                                req(method, path, drop(base, key), admin)))
            for v in values:
                out.append(Case("wrong types", "%s %s=%r" % (name, key, v),
                                req(method, path, with_value(base, key, v), admin)))
        for (ep, key), values in OUT_OF_RANGE.items():
            if ep != name:
                continue
            src = drop(base, "direction") if key == "directions" else base
            for v in values:
                out.append(Case("out of range", "%s %s=%r" % (name, key, str(v)[:40]),
                                req(method, path, with_value(src, key, v), admin)))
        out.append(Case("wrong types", "%s unknown field" % name,
                        req(method, path, with_value(base, "bogus", 1), admin)))
        for v in WHOLE_BODIES.get(name, []):
            out.append(Case("out of range", "%s %s" % (name, str(v)[:60]),
                            req(method, path, v, admin)))
    return out


def path_cases(admin):
    """Traversal and odd bytes in the study, trial and artifact parts of paths; negative and
    huge trial numbers; unknown studies and trials."""
    out = []
    nf = (404,)
    studies = ["..", "%2e%2e", "%2E%2E%2F", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
               BASE + "%00x", BASE + "%2Ftrials", "%ff", "%c0%ae%c0%ae", "a" * 3000, "no-such",
               BASE + "%20", "%20" + BASE, BASE + "..", "." * 3, "%00", "%25", "a%0d%0ab"]
    for s in studies:
        for method, suffix, body in [("GET", "", None), ("GET", "/trials", None),
                                     ("POST", "/trials", {"worker": "w"}),
                                     ("POST", "/trials/1/reports", {"step": 9, "value": 1}),
                                     ("DELETE", "", None)]:
            out.append(Case("path traversal and names", "%s %s%s" % (method, s[:30], suffix),
                            req(method, "/api/v1/studies/" + s + suffix, body, admin), nf))
    numbers = ["-1", "9223372036854775807", "9223372036854775808", "99999999999999999999",
               "1e3", "0x1", "%31", "1%00", "1.0", "+1", "%2D1", "999999999", "01%2F..",
               "1%20", "..%2F1", " 1".replace(" ", "%20")]
    for n in numbers:
        for method, suffix, body in [("GET", "", None),
                                     ("POST", "/reports", {"step": 9, "value": 1}),
                                     ("POST", "/finish", {"state": "fail"}),
                                     ("POST", "/heartbeat", {}),
                                     ("POST", "/suggest", {"name": "z", "distribution": {
                                         "type": "float", "low": 0, "high": 1}})]:
            if n == "%31":  # that is trial 1 itself: only its GET is harmless
                if method != "GET":
                    continue
                want = (200,)
            else:
                want = nf
            out.append(Case("trial numbers", "%s trials/%s%s" % (method, n, suffix),
                            req(method, "/api/v1/studies/%s/trials/%s%s" % (BASE, n, suffix),
                                body, admin), want))
    arts = ["..", ".", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", ".hidden",
            "a%00b", "a" * 300, "a%20b", "%ff", "a%2Fb", "..%5C..%5Cx", "%2e", "a%0ab",
            "con%3Aout", "~root"]
    for a in arts:
        path = T1 + "/artifacts/" + a
        out.append(Case("artifact names", "PUT %s" % a[:30],
                        request_bytes("PUT", path, b"hostile bytes", admin), (400, 404)))
        out.append(Case("artifact names", "GET %s" % a[:30], req("GET", path, None, admin),
                        (400, 404)))
    for tid in ["999999", "-1", "abc", "1e3", "9223372036854775808", "%31%00", "0"]:
        out.append(Case("token ids", "DELETE tokens/%s" % tid,
                        req("DELETE", "/api/v1/tokens/" + tid, None, admin), nf))
    queries = ["limit=%ff", "limit=-1", "limit=0", "limit=1001", "limit=99999999999999999999",
               "limit=abc", "after=-2", "after=9223372036854775807", "state=%ff", "state=bogus",
               "state=running%00", "limit=1%00", "limit=", "state="]
    for q in queries:
        out.append(Case("query strings", q, req("GET", "/api/v1/studies/%s/trials?%s" % (BASE, q),
                                                None, admin)))
    return out


# every route with a concrete path and a body it would accept
ROUTES = [
    ("POST", "/api/v1/studies", ENDPOINTS[0][3], "A"),
    ("GET", "/api/v1/studies", None, "R"),
    ("GET", "/api/v1/studies/" + BASE, None, "R"),
    ("DELETE", "/api/v1/studies/" + OTHER, None, "A"),
    ("POST", "/api/v1/studies/%s/trials" % BASE, ENDPOINTS[1][3], "W"),
    ("GET", "/api/v1/studies/%s/trials" % BASE, None, "R"),
    ("GET", T1, None, "R"),
    ("POST", "/api/v1/studies/%s/queue" % BASE, ENDPOINTS[2][3], "W"),
    ("POST", T1 + "/suggest", ENDPOINTS[3][3], "W"),
    ("POST", T1 + "/reports", ENDPOINTS[4][3], "W"),
    ("POST", T1 + "/heartbeat", ENDPOINTS[5][3], "W"),
    ("POST", T1 + "/finish", ENDPOINTS[6][3], "W"),
    ("GET", "/api/v1/studies/%s/best" % BASE, None, "R"),
    ("GET", T1 + "/artifacts", None, "R"),
    ("PUT", T1 + "/artifacts/model.bin", b"other bytes", "W"),
    ("GET", T1 + "/artifacts/model.bin", None, "R"),
    ("POST", "/api/v1/workers", ENDPOINTS[7][3], "W"),
    ("GET", "/api/v1/workers", None, "R"),
    ("POST", "/api/v1/tokens", ENDPOINTS[8][3], "A"),
    ("GET", "/api/v1/tokens", None, "A"),
    ("DELETE", "/api/v1/tokens/1", None, "A"),
]


def method_cases(admin):
    """Every route's path with the methods it does not take."""
    out = []
    allowed = {}  # per path of BASE (OTHER's routes are the same patterns)
    for method, path, _, _ in ROUTES:
        allowed.setdefault(path.replace(OTHER, BASE), set()).add(method)
    allowed.setdefault("/healthz", {"GET"})
    for path, ok in allowed.items():
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "get",
                  "PROPFIND"]:
            if m in ok:
                continue
            out.append(Case("methods not allowed", "%s %s" % (m, path),
                            req(m, path, None, admin), (405,)))
    return out


def auth_cases(tok):
    """Each route with a body it would take, and a token that must not let it through: none,
    malformed, unknown, revoked, expired (401); too low a scope or another study (403)."""
    out = []
    admin = tok["admin"].encode()
    bad_headers = [None, b"Bearer", b"Bearer ", b"Basic dXNlcjpwYXNz", b"Token " + admin,
                   b"Bearer hpo_" + b"A" * 43, b"Bearer hpo_short",
                   b"Bearer " + tok["admin"].encode() + b" extra",
                   b"Bearer " + admin[:-1] + (b"A" if admin[-1:] != b"A" else b"B"),
                   b"Bearer " + tok["admin"].upper().encode(), b"Bearer " + b"x" * 8000,
                   b"Bearer \xff\xfe\xfd", b"Bearer " + tok["admin"].encode() + b"\xff",
                   b"Bearer hpo_" + b"%2e%2e" * 7 + b"A",
                   b"Bearer " + tok["revoked"].encode(), b"Bearer " + tok["expired"].encode()]
    for method, path, body, scope in ROUTES:
        b = body if isinstance(body, bytes) or body is None else body_text(body)
        for h in bad_headers:
            headers = {"Authorization": h} if h is not None else None
            out.append(Case("no, bad, revoked or expired token (401)",
                            "%s %s with %r" % (method, path, (h or b"none")[:30]),
                            request_bytes(method, path, b, None, headers), (401,)))
        denied = []
        if scope in ("W", "A"):
            denied.append("read")
        if scope == "A":
            denied.append("worker")
        if BASE in path:
            denied.append("other_study")   # a worker token limited to OTHER
            denied.append("other_prefix")  # a worker token limited to the prefix "hostile-o"
        if OTHER in path:
            denied.append("base_admin")    # an admin token limited to BASE
        if "/tokens" in path:
            denied.append("base_admin")    # limited admin tokens manage no tokens
        if (method, path) == ("POST", "/api/v1/studies"):
            denied.append("base_admin")    # nor make a study outside their limit
        for name in denied:
            out.append(Case("token of too low a scope or another study (403)",
                            "%s %s as %s" % (method, path, name),
                            request_bytes(method, path, b, tok[name]), (403,)))
    return out


def transport_cases(admin):
    """Abuse below the JSON layer: huge URLs and headers, broken request lines and framing."""
    # Connection: close where the request can be read at all: the test need not wait out the
    # idle timeout on each connection the server keeps
    auth = b"Connection: close\r\nAuthorization: Bearer " + admin.encode() + b"\r\n"
    rep = T1.encode() + b"/reports"
    out = []

    def t(label, data, half_close=False, want=()):
        """want: statuses allowed besides any 4xx; (413,): a 413 JSON error (or a close) only."""
        kind = "too large" if want == (413,) else "transport"
        out.append(Case("transport-level abuse", label, data, want, kind, half_close))

    t("100 KB URL", b"GET /api/v1/studies/" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n" + auth +
      b"\r\n")
    t("100 KB query", b"GET /api/v1/studies?" + b"a=1&" * 25000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    t("1 MB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) +
      b"\r\n\r\n")
    t("1 MB Authorization header", b"GET /api/v1/studies HTTP/1.1\r\nHost: x\r\n"
      b"Authorization: Bearer " + b"a" * (1 << 20) + b"\r\n\r\n")
    t("20,000 headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n")
    t("header without a colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n")
    # libmicrohttpd ends a header value at a NUL: the part before it is all that counts
    t("NUL in a header", b"GET /api/v1/studies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      admin[:20].encode() + b"\x00" + admin[20:].encode() + b"\r\n\r\n")
    # a raw NUL in the request line: libmicrohttpd 0.9.75 ends the path there (a %00 is kept as
    # typed, see unescape_url in hpo_http.c), so this reads study BASE, which the token may
    t("NUL in the path", b"GET /api/v1/studies/" + BASE.encode() +
      b"\x00x HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", want=(200,))
    t("CR LF in the path", b"GET /api/v1/stu\rdies HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
    t("garbage request line", b"GARBAGE\r\n\r\n")
    t("binary junk", bytes(range(256)) * 4)
    t("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want=(400, 505))
    t("TLS hello on plain HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64)
    # libmicrohttpd (not strict) serves HTTP/1.1 without Host; harmless with no virtual hosts
    t("HTTP/1.1 without Host", b"GET /api/v1/studies HTTP/1.1\r\n" + auth + b"\r\n",
      want=(200,))
    t("HTTP/0.9", b"GET /api/v1/studies\r\n\r\n")
    t("HTTP/9.9", b"GET /api/v1/studies HTTP/9.9\r\nHost: x\r\n" + auth + b"\r\n", want=(400, 505))
    t("method of 1000 letters", b"A" * 1000 + b" /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    t("absolute-form URL", b"GET http://evil.example/api/v1/studies HTTP/1.1\r\nHost: x\r\n" +
      auth + b"\r\n")
    t("path without a slash", b"GET api/v1/studies HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n")
    t("folded header", b"GET /api/v1/studies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n " +
      admin.encode() + b"\r\n\r\n")
    t("space before the colon", b"GET /api/v1/studies HTTP/1.1\r\nHost: x\r\n"
      b"Authorization : Bearer " + admin.encode() + b"\r\n\r\n")
    # framing abuse goes to a trial that does not exist: however the body is read, nothing is
    # stored (a 404), and the test sees only whether the server errs, hangs or falls over
    body = b'{"step": 9, "value": 1}'
    post = (b"POST /api/v1/studies/" + BASE.encode() + b"/trials/999999/reports HTTP/1.1\r\n"
            b"Host: x\r\n" + auth)
    t("Content-Length 10^20", post + b"Content-Length: 100000000000000000000\r\n\r\n" + body)
    t("Content-Length -1", post + b"Content-Length: -1\r\n\r\n" + body)
    t("Content-Length not a number", post + b"Content-Length: abc\r\n\r\n" + body)
    t("two Content-Lengths", post + b"Content-Length: 5\r\nContent-Length: %d\r\n\r\n" % len(body) +
      body)
    t("Content-Length and chunked", post +
      b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    t("bad chunk size", post + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body +
      b"\r\n0\r\n\r\n")
    t("chunk size of 2^64", post + b"Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n" +
      body + b"\r\n0\r\n\r\n")
    t("unknown transfer coding", post + b"Transfer-Encoding: gzip\r\n\r\n" + body)
    t("body cut short, then EOF", post + b"Content-Length: 100\r\n\r\n" + body[:10],
      half_close=True)
    t("chunked body cut short, then EOF", post + b"Transfer-Encoding: chunked\r\n\r\n100\r\n" +
      body[:5], half_close=True)
    t("headers cut short, then EOF", b"POST " + rep + b" HTTP/1.1\r\nHost: x\r\nContent-Le",
      half_close=True)
    t("2 MB body, Content-Length", post + b"Content-Length: %d\r\n\r\n" % (2 << 20), want=(413,))
    t("2 MB body, Expect 100-continue", post + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n"
      % (2 << 20), want=(413,))
    chunk = b"x" * 65536
    t("2 MB body, chunked", post + b"Transfer-Encoding: chunked\r\n\r\n" +
      (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 32 + b"0\r\n\r\n", want=(413,))
    t("2 MB artifact name", b"PUT " + T1.encode() + b"/artifacts/" + b"a" * (2 << 20) +
      b" HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 1\r\n\r\nx")
    return out


# ---- the runs ------------------------------------------------------------------------------------

class Run:
    def __init__(self, server, client):
        self.server, self.c = server, client
        self.sent = 0
        self.by_cat = {}
        self.failures = []

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL: " + msg, flush=True)

    def alive(self, where):
        """The server still runs and /healthz answers 200; a failure otherwise."""
        if self.server.proc.poll() is not None:
            self.fail("the server exited (status %s) %s" % (self.server.proc.returncode, where))
            return False
        try:
            if self.c.healthy():
                return True
        except OSError as e:
            self.fail("/healthz %s: %s" % (where, e))
            return False
        self.fail("/healthz did not answer 200 {\"status\":\"ok\"} %s" % where)
        return False

    def judge(self, case, a):
        """None when the answer is right, else what is wrong."""
        if a.note == "hang":
            return "no answer and no close in %.0f s (hang)" % case.timeout
        if a.status is None:  # closed: fine below the JSON layer, and for a body cut off
            return None if case.kind in ("transport", "too large") else "no answer (%s)" % a.note
        if case.kind == "transport" and a.status in case.want:
            return None  # 505 (version not supported) is what RFC 9110 prescribes, no failure
        if 500 <= a.status:
            return "server error %d: %r" % (a.status, a.body[:300])
        if case.kind == "transport":
            if 400 <= a.status < 500:
                return None
            return "status %d (want a 4xx or a close): %r" % (a.status, a.body[:200])
        if a.status not in case.want:
            return "status %d, want %s: %r" % (a.status, list(case.want), a.body[:300])
        if 400 <= a.status < 500 and not is_json_error(a):
            return "status %d without a JSON error body: %r" % (a.status, a.body[:300])
        return None

    def batch(self, cases):
        if not cases:
            return
        cat = cases[0].cat
        t0 = time.monotonic()
        for case in cases:
            t1 = time.monotonic()
            a = exchange(self.c.host, self.c.port, case.data, case.timeout, case.half_close)
            if time.monotonic() - t1 > 1:
                print("  slow: %s %.1f s %r" % (case.label, time.monotonic() - t1, a))
            self.sent += 1
            self.by_cat[case.cat] = self.by_cat.get(case.cat, 0) + 1
            wrong = self.judge(case, a)
            if wrong:
                self.fail("[%s] %s: %s" % (case.cat, case.label[:120], wrong))
        self.alive("after the batch '%s'" % cat)
        print("%5d  %-50s %5.1f s" % (len(cases), cat, time.monotonic() - t0), flush=True)


def grouped(cases):
    groups = {}
    for c in cases:
        groups.setdefault(c.cat, []).append(c)
    return list(groups.values())


class SlowLoris:
    """Sockets that send a request's headers one byte a second, from a thread."""

    def __init__(self, client, n):
        self.socks = [connect(client.host, client.port) for _ in range(n)]
        self.text = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 10000)
        self.stop = threading.Event()
        self.sent = 0
        self.closed_early = 0
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.drip, daemon=True)
        self.thread.start()

    def drip(self):
        live = list(self.socks)
        while not self.stop.is_set() and live and self.sent < len(self.text):
            for s in list(live):
                try:
                    s.send(self.text[self.sent:self.sent + 1])
                except OSError:
                    live.remove(s)  # the server cut it: fine
                    self.closed_early += 1
            self.sent += 1
            self.stop.wait(1.0)

    def finish(self, run):
        """After at least SLOW_MIN_S of dripping (the server answering /healthz meanwhile), stops
        sending; each socket must then be closed by the server within the idle timeout (it may
        answer 408 first)."""
        while time.monotonic() < self.started + SLOW_MIN_S:
            run.alive("while the slow-loris sockets drip")
            time.sleep(1)
        self.stop.set()
        self.thread.join()
        deadline = time.monotonic() + IDLE_TIMEOUT_S + 5
        kept = 0
        for s in self.socks:
            try:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                got = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
                if got and not (got.startswith(b"HTTP/1.1 4") or got.startswith(b"HTTP/1.0 4")):
                    run.fail("slow-loris socket got %r" % got[:100])
            except socket.timeout:
                kept += 1
            except ConnectionResetError:
                pass
            finally:
                s.close()
        if kept:
            run.fail("%d slow-loris sockets still open %d s after they fell silent "
                     "(idle timeout %d s)" % (kept, IDLE_TIMEOUT_S + 5, IDLE_TIMEOUT_S))
        run.sent += len(self.socks)
        run.by_cat["slow-loris sockets (a byte a second)"] = len(self.socks)
        print("slow-loris: %d sockets sent %d header bytes each, %d cut while sending"
              % (len(self.socks), self.sent, self.closed_early), flush=True)


def flood(run):
    """FLOOD_SOCKETS connections from 127.0.0.1 held open at once: another address must still get
    /healthz; each socket then gets a 401 or is closed, no more than PER_IP_LIMIT answered;
    afterwards 127.0.0.1 is served again."""
    c = run.c
    socks = []
    refused_connect = 0
    for _ in range(FLOOD_SOCKETS):
        try:
            socks.append(connect(c.host, c.port, timeout=5))
        except OSError:
            refused_connect += 1
    time.sleep(0.5)  # let the server accept (and cut) them
    other = exchange(c.host, c.port, request_bytes("GET", "/healthz"), 10, source="127.0.0.2")
    if other.status != 200:
        run.fail("/healthz from 127.0.0.2 during the flood: %r" % other)
    answered = closed = 0
    data = request_bytes("GET", "/api/v1/studies/" + BASE)  # no token: 401
    for s in socks:
        try:
            s.settimeout(10)
            s.sendall(data)
            got = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        except socket.timeout:
            run.fail("a flood socket neither answered nor closed in 10 s")
            continue
        except OSError:
            got = b""
        finally:
            s.close()
        if not got:
            closed += 1
            continue
        head = got.split(b"\r\n", 1)[0]
        if not head.startswith(b"HTTP/1.1 401"):
            run.fail("a flood socket got %r" % got[:200])
        answered += 1
    run.sent += FLOOD_SOCKETS
    run.by_cat["connection flood from one address"] = FLOOD_SOCKETS
    print("flood: %d sockets: %d answered 401, %d closed by the server, %d not connected"
          % (FLOOD_SOCKETS, answered, closed, refused_connect), flush=True)
    if answered > PER_IP_LIMIT:
        run.fail("%d flood sockets were served, over --max-connections-per-ip %d"
                 % (answered, PER_IP_LIMIT))
    time.sleep(0.5)
    run.alive("after the connection flood")


# ---- setup and the whole test --------------------------------------------------------------------

def setup(c):
    """The fixed baseline: BASE with trial 0 complete (reports, a value) and trial 1 running (a
    suggested param, a report, an artifact); OTHER with nothing; a worker; tokens of each kind."""
    c.ok("POST", "/api/v1/studies", {
        "name": BASE, "direction": "minimize", "sampler": {"type": "random", "seed": 7},
        "pruner": {"type": "median", "n_startup_trials": 5},
        "search_space": {"x": {"type": "float", "low": 0, "high": 1},
                         "opt": {"type": "categorical", "choices": ["sgd", "adam"]}},
        "user_attrs": {"owner": "hostile"}})
    c.ok("POST", "/api/v1/studies", {"name": OTHER, "direction": "maximize"})
    t0 = c.ok("POST", "/api/v1/studies/%s/trials" % BASE, {"worker": "w-base"})
    assert t0["number"] == 0, t0
    for step in range(3):
        c.ok("POST", "/api/v1/studies/%s/trials/0/reports" % BASE,
             {"step": step, "value": 1.0 - step / 10})
    c.ok("POST", "/api/v1/studies/%s/trials/0/finish" % BASE, {"state": "complete", "value": 0.7})
    t1 = c.ok("POST", "/api/v1/studies/%s/trials" % BASE, {"worker": "w-base"})
    assert t1["number"] == 1 and t1["state"] == "running", t1
    c.ok("POST", T1 + "/suggest",
         {"name": "layers", "distribution": {"type": "int", "low": 1, "high": 4}})
    c.ok("POST", T1 + "/reports", {"step": 0, "value": 0.9})
    a = c.call("PUT", T1 + "/artifacts/model.bin", b"baseline artifact")
    assert a.status == 201, a
    c.ok("POST", "/api/v1/workers", {"id": "w-base", "host": "node-1", "slots": 1, "gpus": [0]})

    def token(**spec):
        return c.ok("POST", "/api/v1/tokens", spec)

    tok = {"admin": c.token}
    tok["read"] = token(scope="read", name="h-read")["token"]
    tok["worker"] = token(scope="worker", name="h-worker")["token"]
    tok["other_study"] = token(scope="worker", study=OTHER, name="h-other")["token"]
    tok["other_prefix"] = token(scope="worker", study_prefix="hostile-o", name="h-prefix")["token"]
    tok["base_admin"] = token(scope="admin", study=BASE, name="h-base-admin")["token"]
    revoked = token(scope="admin", name="h-revoked")
    c.ok("DELETE", "/api/v1/tokens/%d" % revoked["id"], want=(204,))
    tok["revoked"] = revoked["token"]
    tok["expired"] = token(scope="admin", name="h-expired", expires_in=1)["token"]
    return tok


def files_under(root):
    out = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out.append((os.path.relpath(p, root), os.path.getsize(p)))
    return sorted(out)


def check_base_bodies_valid(run):
    """The bodies the cases broke are valid as they stand (so each case broke one thing), and the
    server still works: sent last, after the 'after' snapshot."""
    admin = run.c.token
    for name, method, path, base, _ in sorted(ENDPOINTS, key=lambda e: e[0] == "finish"):
        a = exchange(run.c.host, run.c.port, req(method, path, base, admin))
        if a.status not in (200, 201):
            run.fail("the valid %s body was refused afterwards: %r" % (name, a))


def main():
    binary, pg = os.environ.get("HPO_SERVER_BIN"), os.environ.get("HPO_TEST_PG")
    if not binary or not pg:
        print("HPO_SERVER_BIN and HPO_TEST_PG must be set", file=sys.stderr)
        return 1
    os.environ["HPO_IDLE_TIMEOUT"] = str(IDLE_TIMEOUT_S)  # the server inherits the environment
    os.environ["HPO_MAX_CONNECTIONS_PER_IP"] = str(PER_IP_LIMIT)
    server = TestServer(binary, pg, "hostile")
    started = time.monotonic()
    try:
        url = server.start()
        c = Client(url, server.token)
        db = conninfo_with_db(pg, server.db)
        tok = setup(c)
        expired_at = time.monotonic() + 1.5
        before = db_snapshot(db)
        for t in ("studies", "trials", "trial_params", "trial_values",
                  "trial_intermediate_values", "workers", "artifacts", "tokens"):
            assert before.get(t), "the baseline has no rows in %s" % t
        files_before = files_under(server.artifacts)
        run = Run(server, c)
        run.alive("before the first batch")
        slow = SlowLoris(c, SLOW_SOCKETS)

        admin = server.token
        for cases in (grouped(malformed_json_cases(admin)) + grouped(wrong_type_cases(admin)) +
                      grouped(path_cases(admin)) + grouped(method_cases(admin))):
            run.batch(cases)
        time.sleep(max(0.0, expired_at - time.monotonic()))
        for cases in grouped(auth_cases(tok)):
            run.batch(cases)
        run.batch(transport_cases(admin))
        slow.finish(run)
        run.alive("after the slow-loris sockets closed")
        flood(run)

        after = db_snapshot(db)
        for line in snapshot_diff(before, after):
            run.fail("database changed: " + line)
        files_after = files_under(server.artifacts)
        if files_after != files_before:
            run.fail("artifact files changed: %s -> %s" % (files_before, files_after))
        check_base_bodies_valid(run)
        run.alive("at the end")
    finally:
        server.stop()

    print("\nhostile requests sent: %d (in %.1f s)" % (run.sent, time.monotonic() - started))
    for cat, n in run.by_cat.items():
        print("  %5d  %s" % (n, cat))
    if run.sent < 500:
        run.fail("only %d hostile requests (at least 500 wanted)" % run.sent)
    if run.failures:
        print("\n%d FAILURES" % len(run.failures))
        for f in run.failures:
            print("  " + f)
        return 1
    print("all refused as they should be; the server stayed up; the database is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
