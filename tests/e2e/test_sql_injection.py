# test_sql_injection: SQL-shaped text through every free-text field of the API (param names,
# categorical choices, fixed params, worker ids and hosts, fail reasons, user_attrs, idempotency
# keys, token names) into the real hpo-server: each must come back byte for byte; no table is lost.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   python3 tests/e2e/test_sql_injection.py"""
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_raw import Client, TestServer, conninfo_with_db, psql_rows  # noqa: E402

PAYLOADS = [
    "'); DROP TABLE trials; --",
    "\" OR 1=1 --",
    "' OR '1'='1",
    "Robert'); DROP TABLE studies;--",
    "'; SELECT pg_sleep(10); --",
    "1; DELETE FROM tokens; --",
    "' || (SELECT string_agg(hash, ',') FROM tokens) || '",
    "')::json; --",
    "*/ SELECT 1 /*",
    "\\'",
    "\\",
    "\\\\'\\\\",
    "E'\\x27'",
    "$1",
    "$2::text",
    "$$; DROP TABLE workers; $$",
    "$tag$ x $tag$",
    "%s",
    "%d%n%x%p",
    "%%",
    "?",
    ":name",
    "\u2018\u2019\u201c\u201d",  # ‘’“”
    "\u02bc\u2032\u2033",        # modifier apostrophe, primes
    "\uff07\uff02",              # fullwidth ' and "
    "\u2028\u2029",
    "\ufeffBOM",
    "emoji \U0001f600 \U0001f4a5",
    "{\"a\": 1}",
    "[1, 2]",
    "null",
    "NULL",
    "`id`",
    "${HOME}",
    "a" * 120 + "'",
]
# the free text where control characters are allowed too
CONTROL = ["tab\there", "new\nline; DROP TABLE trials; --", "cr\r\nlf", "bell\x07", "del\x7f"]
NAME_OK = [p for p in PAYLOADS]  # no control characters: valid as param names
TABLES = ["studies", "trials", "trial_params", "trial_values", "trial_intermediate_values",
          "trial_user_attrs", "workers", "artifacts", "tokens", "hpo_schema_version"]


class Check:
    def __init__(self):
        self.failures = []
        self.n = 0

    def eq(self, got, want, what):
        self.n += 1
        if got != want:
            self.failures.append("%s: got %r, want %r" % (what, got, want))
            print("FAIL: " + self.failures[-1], flush=True)


def call(c, method, path, body=None, want=(200, 201)):
    """A call whose answer must have a status in want (raises otherwise); its parsed JSON."""
    t0 = time.monotonic()
    a = c.call(method, path, body)
    took = time.monotonic() - t0
    if took > 5:
        raise AssertionError("%s %s took %.1f s (a pg_sleep got through?)" % (method, path, took))
    if a.status not in want:
        raise AssertionError("%s %s -> %r" % (method, path, a))
    return a.json


def space_study(c, ck):
    """Param names, categorical choices and user_attrs keys and values; ask (worker and
    idempotency key), suggest, finish with a fail reason."""
    name = "sqli-space"
    space = {p: {"type": "categorical", "choices": PAYLOADS + CONTROL} for p in NAME_OK}
    attrs = {p: p for p in NAME_OK}
    attrs["nested"] = {"list": PAYLOADS + CONTROL, "obj": {p: [p] for p in PAYLOADS[:8]}}
    call(c, "POST", "/api/v1/studies", {"name": name, "direction": "minimize",
                                        "search_space": space, "user_attrs": attrs})
    s = call(c, "GET", "/api/v1/studies/" + name)
    ck.eq(list(s["search_space"]), NAME_OK, "search_space names, in order")
    for p in NAME_OK:
        ck.eq(s["search_space"][p].get("choices"), PAYLOADS + CONTROL, "choices of %r" % p)
    ck.eq(s["user_attrs"], attrs, "study user_attrs")

    # ask: the worker and the idempotency key are free text; the same key gives the same trial
    for i, p in enumerate(PAYLOADS + CONTROL):
        t = call(c, "POST", "/api/v1/studies/%s/trials" % name,
                 {"worker": p, "idempotency_key": p})
        ck.eq(t["number"], i, "number of the trial asked with key %r" % p)
        ck.eq(t["worker"], p, "worker of trial %d" % i)
        ck.eq(sorted(t["params"]), sorted(NAME_OK), "param names of trial %d" % i)
        for k, v in t["params"].items():
            if v not in PAYLOADS + CONTROL:
                ck.eq(v, "one of the choices", "value of %r in trial %d" % (k, i))
        again = call(c, "POST", "/api/v1/studies/%s/trials" % name,
                     {"worker": p, "idempotency_key": p}, want=(200,))
        ck.eq((again["number"], again["params"]), (i, t["params"]), "replay of key %r" % p)

    # suggest on trial 0: each payload as a new param's name, with itself as the one choice
    base = "/api/v1/studies/%s/trials/0" % name
    for p in NAME_OK:
        pname = "suggested " + p
        r = call(c, "POST", base + "/suggest",
                 {"name": pname, "distribution": {"type": "categorical", "choices": [p]}})
        ck.eq((r["name"], r["value"]), (pname, p), "suggest of %r" % pname)
    t = call(c, "GET", base)
    for p in NAME_OK:
        ck.eq(t["params"].get("suggested " + p), p, "trial 0 param %r read back" % p)

    # finish each trial as fail, the payload as its reason
    for i, p in enumerate(PAYLOADS + CONTROL):
        call(c, "POST", "/api/v1/studies/%s/trials/%d/finish" % (name, i),
             {"state": "fail", "reason": p})
    trials = call(c, "GET", "/api/v1/studies/%s/trials?limit=1000" % name)["trials"]
    ck.eq([(t["number"], t["state"], t.get("fail_reason"), t["worker"]) for t in trials],
          [(i, "fail", p, p) for i, p in enumerate(PAYLOADS + CONTROL)],
          "fail reasons and workers of the trials list")
    return len(PAYLOADS + CONTROL)


def stored_reasons(db):
    """The fail reasons as PostgreSQL holds them."""
    return json.loads(psql_rows(db, "SELECT to_json(array_agg(t.fail_reason ORDER BY t.number))"
                                    "::text FROM trials t JOIN studies s ON s.id = t.study_id"
                                    " WHERE s.name = 'sqli-space'")[0])


def queue_study(c, ck):
    """Params outside the search space, queued (stored as a trial's fixed params): their names
    and values come back through ask and suggest."""
    name = "sqli-queue"
    call(c, "POST", "/api/v1/studies", {"name": name, "direction": "maximize"})
    fixed = {p: p for p in NAME_OK}
    call(c, "POST", "/api/v1/studies/%s/queue" % name, {"params": fixed})
    t = call(c, "POST", "/api/v1/studies/%s/trials" % name, {})
    ck.eq(t["number"], 0, "the queued trial is asked first")
    for p in NAME_OK:
        r = call(c, "POST", "/api/v1/studies/%s/trials/0/suggest" % name,
                 {"name": p, "distribution": {"type": "categorical", "choices": ["other", p]}})
        ck.eq(r["value"], p, "fixed param %r at its suggest" % p)
    got = call(c, "GET", "/api/v1/studies/%s/trials/0" % name)["params"]
    ck.eq(got, fixed, "the queued trial's params read back")


def workers(c, ck, db):
    """Worker ids, hosts and GPU descriptions."""
    for p in PAYLOADS + CONTROL:
        if len(p.encode()) > 128:
            continue
        call(c, "POST", "/api/v1/workers", {"id": p, "host": p, "slots": 1, "gpus": [p, {p: p}]})
    listed = {w["id"]: w for w in call(c, "GET", "/api/v1/workers")["workers"]}
    for p in PAYLOADS + CONTROL:
        if len(p.encode()) > 128:
            continue
        w = listed.get(p)
        ck.eq((w or {}).get("host"), p, "host of worker %r" % p)
        ck.eq((w or {}).get("gpus"), [p, {p: p}], "gpus of worker %r" % p)
    # what PostgreSQL holds, not only what the server says it holds
    stored = json.loads(psql_rows(db, "SELECT to_json(array_agg(id))::text FROM workers")[0])
    want = sorted(p for p in PAYLOADS + CONTROL if len(p.encode()) <= 128)
    ck.eq(sorted(stored), want, "worker ids in the workers table")


def tokens(c, ck):
    """Token names (control characters are refused there: printed by `token list`)."""
    ids = {}
    for p in PAYLOADS:
        t = call(c, "POST", "/api/v1/tokens", {"scope": "read", "name": p})
        ck.eq(t["name"], p, "name of a new token")
        ids[t["id"]] = p
    listed = {t["id"]: t["name"] for t in call(c, "GET", "/api/v1/tokens")["tokens"]}
    for i, p in ids.items():
        ck.eq(listed.get(i), p, "name of token %d in the list" % i)
    for p in CONTROL[:2]:
        call(c, "POST", "/api/v1/tokens", {"scope": "read", "name": p}, want=(400,))


def refused(c, ck):
    """Where names are rules, not free text: study and artifact names, the state filter."""
    for p in PAYLOADS + CONTROL:
        q = urllib.parse.quote(p, safe="")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", p):  # "null" is a fine study name
            a = c.call("POST", "/api/v1/studies", {"name": p, "direction": "minimize"})
            ck.eq(a.status, 400, "status of a study named %r" % p)
            ck.eq(c.call("GET", "/api/v1/studies/" + q).status, 404, "GET of study %r" % p)
        ck.eq(c.call("GET", "/api/v1/studies/sqli-space/trials?state=" + q).status, 400,
              "state filter %r" % p)
        ck.eq(c.call("GET", "/api/v1/studies/sqli-space/trials/0/artifacts/" + q).status
              in (400, 404), True, "artifact named %r" % p)


def main():
    binary, pg = os.environ.get("HPO_SERVER_BIN"), os.environ.get("HPO_TEST_PG")
    if not binary or not pg:
        print("HPO_SERVER_BIN and HPO_TEST_PG must be set", file=sys.stderr)
        return 1
    server = TestServer(binary, pg, "sqli")
    ck = Check()
    started = time.monotonic()
    try:
        url = server.start()
        c = Client(url, server.token)
        db = conninfo_with_db(pg, server.db)
        n_trials = space_study(c, ck)
        queue_study(c, ck)
        workers(c, ck, db)
        tokens(c, ck)
        refused(c, ck)
        # the schema is whole and holds what was written, no more and no less
        for t in TABLES:
            ck.eq(psql_rows(db, "SELECT to_regclass('public.%s') IS NOT NULL" % t), ["t"],
                  "table %s exists" % t)
        ck.eq(psql_rows(db, "SELECT name FROM studies ORDER BY name"),
              ["sqli-queue", "sqli-space"], "the studies")
        ck.eq(psql_rows(db, "SELECT count(*) FROM trials"), [str(n_trials + 1)], "trial count")
        ck.eq(psql_rows(db, "SELECT count(*) FROM tokens WHERE revoked_at IS NULL"),
              [str(1 + len(PAYLOADS))], "usable tokens")
        ck.eq(stored_reasons(db), PAYLOADS + CONTROL, "fail reasons in the trials table")
        ck.eq(c.call("GET", "/api/v1/studies").status, 200, "the admin token still works")
    finally:
        server.stop()
    print("%d payloads (%d with control characters), %d checks in %.1f s"
          % (len(PAYLOADS + CONTROL), len(CONTROL), ck.n, time.monotonic() - started))
    if ck.failures:
        print("%d FAILURES" % len(ck.failures))
        for f in ck.failures:
            print("  " + f)
        return 1
    print("every value came back byte for byte; the tables are all there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
