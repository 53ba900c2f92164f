# tests/e2e/test_metrics.py: GET /metrics of the real hpo-server (auth on, --log-format json)
# after a small study run through it: every line of the exposition checked against the format
# (tests/support/hpo_promtext.py), and each counter moved by exactly what the test did: asks,
# reports (a repeated step not counted), a prune, finishes, an artifact, requests by route
# pattern and status (never the raw path), trials by state and workers per study; a token
# limited to another study sees none of this study's series; no token is 401. Then the server's
# log: every line one JSON object with time, level, msg, the start, the 401 and the stop among
# them.
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   python3 tests/e2e/test_metrics.py"""

import json
import os
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import check, finish  # noqa: E402
from hpo_promtext import Exposition, FormatError  # noqa: E402
from hpo_testserver import TestServer  # noqa: E402

STUDY = "metrics-e2e"
TRIALS = "/api/v1/studies/{study}/trials"
REPORTS = "/api/v1/studies/{study}/trials/{n}/reports"
FINISH = "/api/v1/studies/{study}/trials/{n}/finish"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def call(url, method, path, token=None, body=None, raw=None):
    """(status, headers, body bytes) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def ok(url, method, path, token, body=None, want=(200, 201)):
    status, _, out = call(url, method, path, token, body)
    if status not in want:
        raise RuntimeError("%s %s: %d %r" % (method, path, status, out[:300]))
    return json.loads(out) if out else None


def scrape(url, token):
    """The parsed /metrics (FormatError when a line breaks the format) and its Content-Type."""
    status, headers, out = call(url, "GET", "/metrics", token)
    if status != 200:
        raise RuntimeError("GET /metrics: %d %r" % (status, out[:300]))
    return Exposition(out.decode("utf-8")), headers.get("Content-Type")


def requests(e, route, method, status):
    return e.value("hpo_http_requests_total", route=route, method=method, status=status)


def run(srv):
    url = srv.url
    admin = srv.token
    read = srv.create_token("read", "--name", "prometheus")
    elsewhere = srv.create_token("read", "--study", "some-other-study")

    before, ctype = scrape(url, read)
    check(ctype == CONTENT_TYPE, "Content-Type is the 0.0.4 text format", ctype)
    status, headers, _ = call(url, "GET", "/metrics")
    check(status == 401, "/metrics without a token is 401", status)
    check("Bearer" in (headers.get("WWW-Authenticate") or ""), "with WWW-Authenticate: Bearer")
    status, _, _ = call(url, "GET", "/healthz")
    check(status == 200, "/healthz stays open", status)
    call(url, "GET", "/api/v1/no/such/path/%s" % STUDY, read)  # 404: counted as route other

    ok(url, "POST", "/api/v1/studies", admin,
       {"name": STUDY, "direction": "minimize",
        "search_space": {"x": {"type": "float", "low": 0, "high": 1}},
        "pruner": {"type": "threshold", "upper": 5.0}})
    trials = [ok(url, "POST", "/api/v1/studies/%s/trials" % STUDY, admin,
                 {"worker": "w%d" % (i % 2)})["number"] for i in range(4)]
    reports = stored = 0
    actions = []
    for n in trials:
        value = 10.0 if n == trials[-1] else 0.5  # the last one goes above the threshold
        for step in (0, 1):
            out = ok(url, "POST", "/api/v1/studies/%s/trials/%d/reports" % (STUDY, n), admin,
                     {"step": step, "value": value})
            actions.append(out["action"])
            reports += 1
            stored += 1
            if out["action"] == "prune":
                break
    # a step reported again is answered, and not stored again
    ok(url, "POST", "/api/v1/studies/%s/trials/%d/reports" % (STUDY, trials[0]), admin,
       {"step": 1, "value": 0.5})
    reports += 1
    check(actions.count("prune") == 1, "the threshold pruner pruned one trial", actions)
    body = b"0123456789" * 1000
    status, _, out = call(url, "PUT", "/api/v1/studies/%s/trials/%d/artifacts/model.bin"
                          % (STUDY, trials[0]), admin, raw=body)
    check(status in (200, 201), "artifact stored", (status, out[:200]))

    mid, _ = scrape(url, read)
    check(mid.get("hpo_trials", study=STUDY, state="running") == 4, "4 trials running",
          mid.get("hpo_trials", study=STUDY, state="running"))
    check(mid.get("hpo_workers_alive", study=STUDY) == 2, "2 workers alive (w0, w1)",
          mid.get("hpo_workers_alive", study=STUDY))

    for n in trials[:-1]:
        ok(url, "POST", "/api/v1/studies/%s/trials/%d/finish" % (STUDY, n), admin,
           {"state": "complete", "value": 0.5 + n})
    ok(url, "POST", "/api/v1/studies/%s/trials/%d/finish" % (STUDY, trials[-1]), admin,
       {"state": "pruned"})
    finishes = len(trials)
    status, _, _ = call(url, "POST", "/api/v1/studies/%s/trials/%d/finish" % (STUDY, trials[0]),
                        admin, {"state": "fail"})
    check(status == 409, "a different finish of a finished trial is 409", status)

    after, _ = scrape(url, read)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    check(delta("hpo_asks_total") == len(trials), "hpo_asks_total moved by the asks",
          delta("hpo_asks_total"))
    check(delta("hpo_reports_total") == stored, "hpo_reports_total moved by the steps stored "
          "(%d calls, %d new steps)" % (reports, stored), delta("hpo_reports_total"))
    check(delta("hpo_prunes_total") == 1, "hpo_prunes_total moved by the one prune",
          delta("hpo_prunes_total"))
    for name in ("hpo_pauses_total", "hpo_promotions_total"):
        check(delta(name) == 0, "%s did not move (no ASHA)" % name, delta(name))
    check(delta("hpo_artifacts_written_total") == 1, "one artifact written",
          delta("hpo_artifacts_written_total"))
    check(delta("hpo_artifact_bytes_written_total") == len(body),
          "artifact bytes moved by its size", delta("hpo_artifact_bytes_written_total"))

    got = {
        "asks 201": (requests(after, TRIALS, "POST", 201) - requests(before, TRIALS, "POST", 201),
                     len(trials)),
        "reports 200": (requests(after, REPORTS, "POST", 200)
                        - requests(before, REPORTS, "POST", 200), reports),
        "finish 200": (requests(after, FINISH, "POST", 200)
                       - requests(before, FINISH, "POST", 200), finishes),
        "finish 409": (requests(after, FINISH, "POST", 409)
                       - requests(before, FINISH, "POST", 409), 1),
        "create 201": (requests(after, "/api/v1/studies", "POST", 201)
                       - requests(before, "/api/v1/studies", "POST", 201), 1),
        "metrics 401": (requests(after, "/metrics", "GET", 401)
                        - requests(before, "/metrics", "GET", 401), 1),
        "metrics 200": (requests(after, "/metrics", "GET", 200)
                        - requests(before, "/metrics", "GET", 200), 2),  # before's and mid's
        "healthz 200": (requests(after, "/healthz", "GET", 200)
                        - requests(before, "/healthz", "GET", 200), 1),
        "other 404": (requests(after, "other", "GET", 404)
                      - requests(before, "other", "GET", 404), 1),
    }
    for what, (have, want) in got.items():
        check(have == want, "hpo_http_requests_total %s moved by %d" % (what, want), have)
    routes = {lab.get("route") for n, lab, _ in after.samples if "route" in lab}
    check(all(r == "other" or r.startswith("/") and STUDY not in r for r in routes),
          "route labels are patterns, never a path", sorted(routes))
    hist_count = after.value("hpo_http_request_duration_seconds_count", route=TRIALS,
                             method="POST")
    all_statuses = sum(v for n, lab, v in after.samples if n == "hpo_http_requests_total"
                       and lab["route"] == TRIALS and lab["method"] == "POST")
    check(hist_count == all_statuses == len(trials), "the trials route's latency histogram "
          "counts its requests", (hist_count, all_statuses))
    check(after.value("hpo_http_request_duration_seconds_sum", route=TRIALS, method="POST") > 0,
          "and their time")
    # one request at a time: each change (ask, report, finish) is a group commit of its own
    commits = delta("hpo_db_commit_duration_seconds_count")
    check(commits == len(trials) + reports + finishes, "each group commit timed", commits)

    states = {s: after.get("hpo_trials", study=STUDY, state=s)
              for s in ("running", "waiting", "complete", "pruned", "fail", "paused")}
    check(states == {"running": 0, "waiting": 0, "complete": 3, "pruned": 1, "fail": 0,
                     "paused": 0}, "hpo_trials by state", states)
    check(after.get("hpo_workers_alive", study=STUDY) == 0, "no worker alive once all finished",
          after.get("hpo_workers_alive", study=STUDY))
    check(after.get("hpo_db_pool_connections") == 10, "pool of --threads 8 + 2 connections",
          after.get("hpo_db_pool_connections"))
    check(0 <= after.get("hpo_db_pool_in_use") <= 10, "pool in use within its size",
          after.get("hpo_db_pool_in_use"))
    check(after.get("hpo_build_info", version="0.1.0") == 1, "hpo_build_info{version}")
    start = after.get("hpo_start_time_seconds")
    check(start is not None and 1.6e9 < start < 4e9, "hpo_start_time_seconds", start)
    check(all(n.startswith("hpo_") for n in after.names()), "every family is hpo_*")

    limited, _ = scrape(url, elsewhere)
    check(limited.get("hpo_trials", study=STUDY, state="complete") is None and
          limited.get("hpo_workers_alive", study=STUDY) is None,
          "a token of another study does not see this study's series")
    check(limited.get("hpo_asks_total") == after.get("hpo_asks_total"),
          "but sees the server's counters")


def main():
    pg = os.environ.get("HPO_TEST_PG")
    if not pg:
        print("HPO_TEST_PG is not set: it must be a conninfo of a PostgreSQL that allows "
              "CREATE DATABASE")
        sys.exit(1)
    log = tempfile.NamedTemporaryFile(prefix="hpo-metrics-log-", suffix=".jsonl", delete=False)
    srv = TestServer(os.environ["HPO_SERVER_BIN"], pg, "metrics",
                     args=("--log-format", "json", "--log-level", "info"), stderr=log)
    try:
        srv.start()
        run(srv)
    except FormatError as e:
        check(False, "the exposition follows the text format", e)
    finally:
        srv.stop()
        log.close()
    with open(log.name, encoding="utf-8") as f:
        lines = f.read().splitlines()
    os.unlink(log.name)
    records, bad = [], []
    for line in lines:
        try:
            r = json.loads(line)
            if not (isinstance(r, dict) and {"time", "level", "msg"} <= set(r)):
                raise ValueError("no time, level or msg")
            records.append(r)
        except ValueError as e:
            bad.append((line[:200], str(e)))
    check(lines and not bad, "every log line is one JSON object with time, level, msg",
          bad[:3] or len(lines))
    msgs = [r["msg"] for r in records]
    check(any(m.startswith("hpo-server listening") for m in msgs), "the start is logged")
    check("hpo-server stopped" in msgs, "the stop is logged")
    check(any(r.get("status") == 401 and r.get("route") == "/metrics" and r["level"] == "warn"
              for r in records), "the 401 is logged with its route and status")
    finish(" (metrics)")


if __name__ == "__main__":
    main()
