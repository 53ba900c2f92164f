# tests/e2e/browser/run_browser_test.py: the dashboard in a real browser. Starts hpo-server on a
# fresh database (tests/support/hpo_testserver.py; auth on), fills five studies through the API
# (a finished TPE study with reports, a median pruner, failed and pruned trials and artifacts;
# a running two-objective study; an ASHA study with paused trials; a study with a retry policy
# whose failed trial was retried twice; a constrained two-objective study whose infeasible trials
# hold the best first objective), then runs check_dashboard.js
# (node + puppeteer-core driving Debian's chromium headless) against it with a read token.
# Chromium, node or puppeteer-core missing is a failure, not a skip (deploy/install-deps.sh
# installs them: chromium, nodejs, and `npm ci` in this folder).
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   [HPO_SHOTS=dir] [HPO_CHROMIUM=/usr/bin/chromium] python3 tests/e2e/browser/run_browser_test.py"""

import json
import math
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support"))
from hpo_testserver import TestServer  # noqa: E402


def die(msg):
    print("run_browser_test.py: " + msg, file=sys.stderr)
    sys.exit(1)


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def call(self, method, path, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Content-Type",
                       "application/octet-stream" if raw is not None else "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def ok(self, method, path, body=None, raw=None):
        status, out = self.call(method, path, body, raw)
        if status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, out))
        return out


def finished_study(api):
    """TPE, a median pruner, 30 trials reporting 5 steps: complete, pruned and one failed; trial
    0 keeps a model and a 300-line log as artifacts."""
    name = "browser-finished"
    api.ok("POST", "/studies", {
        "name": name, "direction": "minimize", "max_trials": 30,
        "sampler": {"type": "tpe", "seed": 7, "n_startup_trials": 8},
        "pruner": {"type": "median", "n_startup_trials": 4, "n_warmup_steps": 1},
        "search_space": {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
            "layers": {"type": "int", "low": 1, "high": 4}}})
    for i in range(30):
        t = api.ok("POST", "/studies/%s/trials" % name, {"worker": "host-%d" % (i % 3)})
        n, p = t["number"], t["params"]
        if i == 3:
            api.ok("POST", "/studies/%s/trials/%d/finish" % (name, n),
                   {"state": "fail", "reason": "CUDA out of memory (test)"})
            continue
        f = (math.log10(p["lr"]) + 2.5) ** 2 + {"sgd": 0.6, "adam": 0.0, "rmsprop": 0.3}[
            p["optimizer"]] + 0.1 * p["layers"]
        state = "complete"
        for step in range(5):
            out = api.ok("POST", "/studies/%s/trials/%d/reports" % (name, n),
                         {"step": step, "value": f * (1 + 0.25 * (4 - step))})
            if out["action"] == "prune":
                state = "pruned"
                break
        api.ok("POST", "/studies/%s/trials/%d/finish" % (name, n),
               {"state": state} if state == "pruned" else {"state": "complete", "value": f})
    log = "".join("epoch %d: loss %.4f\n" % (i, 1.0 / (i + 1)) for i in range(299)) + "line 299\n"
    api.ok("PUT", "/studies/%s/trials/0/artifacts/train.log" % name, raw=log.encode())
    api.ok("PUT", "/studies/%s/trials/0/artifacts/model.bin" % name, raw=bytes(range(256)) * 4)
    return name


def running_study(api):
    """Two objectives (random sampler): 10 complete trials and one still running."""
    name = "browser-running"
    api.ok("POST", "/studies", {
        "name": name, "directions": ["minimize", "maximize"],
        "sampler": {"type": "random", "seed": 3},
        "search_space": {"x": {"type": "float", "low": -3, "high": 3},
                         "kind": {"type": "categorical", "choices": ["a", "b"]}}})
    for i in range(10):
        t = api.ok("POST", "/studies/%s/trials" % name, {"worker": "gpu-%d" % (i % 2)})
        x = t["params"]["x"]
        api.ok("POST", "/studies/%s/trials/%d/reports" % (name, t["number"]),
               {"step": 0, "value": x * x + 1})
        api.ok("POST", "/studies/%s/trials/%d/finish" % (name, t["number"]),
               {"state": "complete", "values": [x * x, -(x - 1) ** 2]})
    t = api.ok("POST", "/studies/%s/trials" % name, {"worker": "gpu-0"})
    api.ok("POST", "/studies/%s/trials/%d/reports" % (name, t["number"]),
           {"reports": [{"step": 0, "value": 2.0}, {"step": 1, "value": 1.5}]})
    return name


def asha_study(api):
    """ASHA (rungs at steps 1, 3 and 9): 14 asks (new trials or promotions); each runs to its
    rung, where it pauses, or to step 9, where it completes. The study is not done, so the
    trials left at a rung stay paused."""
    name = "browser-asha"
    api.ok("POST", "/studies", {
        "name": name, "direction": "minimize", "max_trials": 40,
        "sampler": {"type": "random", "seed": 5},
        "pruner": {"type": "asha", "max_resource": 9},
        "search_space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}}})
    for _ in range(14):
        status, t = api.call("POST", "/studies/%s/trials" % name, {"worker": "asha-w"})
        if status != 201 and status != 200:
            break
        n, lr = t["number"], t["params"]["lr"]
        res = t.get("resource") or {"from": 0, "to": 9}
        f = abs(math.log10(lr) + 2)
        action = "continue"
        for step in range(res["from"] + 1, res["to"] + 1):
            action = api.ok("POST", "/studies/%s/trials/%d/reports" % (name, n),
                            {"step": step, "value": f + 1.0 / step})["action"]
            if action != "continue":
                break
        if action != "pause":
            api.ok("POST", "/studies/%s/trials/%d/finish" % (name, n),
                   {"state": "complete", "value": f + 1.0 / 9})
    return name


def retry_study(api):
    """A retry policy (2 retries on fail): trial 0 fails, its retry 1 fails too, its retry 2
    completes: the chain 0 -> 1 -> 2, each with the same params."""
    name = "browser-retry"
    api.ok("POST", "/studies", {
        "name": name, "direction": "minimize", "max_trials": 1,
        "sampler": {"type": "random", "seed": 11},
        "retry": {"max_retries": 2, "on": ["fail"]},
        "search_space": {"x": {"type": "float", "low": 0, "high": 1}}})
    for i in range(3):
        t = api.ok("POST", "/studies/%s/trials" % name, {"worker": "retry-w"})
        if t["number"] != i or t.get("retry_of") != (i - 1 if i else None):
            raise RuntimeError("retry study: ask %d gave %s" % (i, t))
        api.ok("POST", "/studies/%s/trials/%d/reports" % (name, i),
               {"step": 0, "value": t["params"]["x"]})
        api.ok("POST", "/studies/%s/trials/%d/finish" % (name, i),
               {"state": "fail", "reason": "flaky node (test)"} if i < 2
               else {"state": "complete", "value": t["params"]["x"]})
    return name


def constrained_study(api):
    """Two objectives (-x, x^2) under the constraint x - 1 <= 0: 12 complete trials, x = 0.5 and
    x = 2.5 first, then random ones in [-1, 3]: about half infeasible, and those have the best
    first objective (-x)."""
    name = "browser-constrained"
    api.ok("POST", "/studies", {
        "name": name, "directions": ["minimize", "minimize"],
        "sampler": {"type": "random", "seed": 13},
        "search_space": {"x": {"type": "float", "low": -1, "high": 3}}})
    for i in range(12):
        body = {"worker": "constrained-w"}
        if i < 2:
            body["params"] = {"x": [0.5, 2.5][i]}
        t = api.ok("POST", "/studies/%s/trials" % name, body)
        x = t["params"]["x"]
        api.ok("POST", "/studies/%s/trials/%d/finish" % (name, t["number"]),
               {"state": "complete", "values": [-x, x * x], "constraints": [x - 1]})
    return name


def main():
    binary, pg = os.environ.get("HPO_SERVER_BIN"), os.environ.get("HPO_TEST_PG")
    if not binary:
        die("HPO_SERVER_BIN is not set (the hpo-server binary)")
    if not pg:
        die("HPO_TEST_PG is not set: this test needs a PostgreSQL server")
    chromium = os.environ.get("HPO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        die("no chromium at %s: install Debian's chromium (deploy/install-deps.sh)" % chromium)
    node = shutil.which("node")
    if not node:
        die("no node: install nodejs (deploy/install-deps.sh)")
    if not os.path.isfile(os.path.join(HERE, "node_modules", "puppeteer-core", "package.json")):
        die("puppeteer-core is not installed: run `npm ci` in %s (deploy/install-deps.sh does)"
            % HERE)
    shots = os.path.abspath(os.environ.get("HPO_SHOTS") or os.path.join(os.getcwd(), "browser-shots"))
    os.makedirs(shots, exist_ok=True)

    server = TestServer(binary, pg, "browser")
    try:
        url = server.start()
    except RuntimeError as e:
        die(str(e))
    try:
        api = Api(url, server.token)
        studies = {"finished": finished_study(api), "running": running_study(api),
                   "asha": asha_study(api), "retry": retry_study(api),
                   "constrained": constrained_study(api)}
        env = dict(os.environ, HPO_URL=url, HPO_READ_TOKEN=server.create_token("read"),
                   HPO_ADMIN_TOKEN=server.token, HPO_CHROMIUM=chromium, HPO_SHOTS=shots,
                   HPO_STUDIES=json.dumps(studies))
        rc = subprocess.run([node, os.path.join(HERE, "check_dashboard.js")], cwd=HERE, env=env,
                            timeout=600).returncode
    finally:
        server.stop()
    sys.exit(rc)


if __name__ == "__main__":
    main()
