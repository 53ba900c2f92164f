# tests/e2e/test_chaos.py: a study run by real hpo-worker processes while the harness kills
# workers, kills and restarts hpo-server and restarts PostgreSQL, on a fault schedule drawn from a
# seed (the same seed replays the same schedule), and preempts workers (SIGTERM to a worker run
# with --requeue-on-exit: its trial goes back as preempted). All on loopback: a private PostgreSQL cluster
# (deploy/pg.sh), hpo-server on a fixed port, 4 workers each running a short training command
# that reports 10 steps. The study retries failed and lost trials (retry policy) and prunes with
# the median pruner. At the end it asserts and prints:
#   - complete + pruned configurations exactly equal to max_trials, and max_trials configurations;
#   - no duplicate trial numbers (numbers dense from 0);
#   - every report a worker saw acknowledged is in the database;
#   - no trial left running, waiting or paused;
#   - every trial that failed (killed, lost, preempted) was retried per the policy;
#   - the server's memory stable over its last run (RSS at the end against early in that run).
# A short version runs in the e2e suite; tests/chaos.sh runs the full one (200 trials, 10 worker
# kills, 3 server kills, 1 PostgreSQL restart at least).
"""Usage: HPO_SERVER_BIN=... HPO_WORKER_BIN=... python3 tests/e2e/test_chaos.py
Environment: CHAOS_SEED (default: random, printed), CHAOS_TRIALS (40), CHAOS_WORKER_KILLS (4),
CHAOS_PREEMPTS (1: SIGTERM to a worker run with --requeue-on-exit), CHAOS_SERVER_KILLS (1),
CHAOS_PG_RESTARTS (1), CHAOS_WORKERS (4), CHAOS_TIMEOUT_S (300), CHAOS_KEEP (1: keep the run's
directory, for a failure)."""

import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SH = os.path.join(HERE, "..", "..", "deploy", "pg.sh")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import FAILED, check, finish, free_port, run  # noqa: E402
MAX_RETRIES = 20
ACK = re.compile(r"trial (\S+)/(\d+): step (-?\d+) acknowledged")

TRAIN = r"""#!/bin/sh
# a short training run: 10 steps of a curve whose floor is (x - 0.3)^2
i=0
while [ $i -lt 10 ]; do
  echo "hpo: step=$i value=$(awk -v x="$HPO_PARAM_X" -v i="$i" 'BEGIN { printf "%.6f", (x - 0.3) ^ 2 + 1 / (i + 1) }')"
  sleep 0.03
  i=$((i + 1))
done
echo "hpo: value=$(awk -v x="$HPO_PARAM_X" 'BEGIN { printf "%.6f", (x - 0.3) ^ 2 }')"
"""


def log(msg):
    print("chaos: " + msg, flush=True)


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for child in glob.glob("/proc/%d/task/*/children" % p):
            try:
                kids = [int(k) for k in open(child).read().split()]
            except OSError:
                kids = []
            out += kids
            todo += kids
    return out


def kill_tree(proc):
    """SIGKILL a process and everything it started (a host gone at once)."""
    pids = [proc.pid] + descendants(proc.pid)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def rss_mb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.url + "/api/v1" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, json.loads(text) if text else None
        except OSError as e:  # the server is down or restarting
            return 0, {"error": {"code": "unreachable", "message": str(e)}}

    def ok(self, method, path, body=None, wait_s=60):
        """The call, asked again while the server or the database is away."""
        deadline = time.monotonic() + wait_s
        while True:
            status, out = self.call(method, path, body)
            if 200 <= status < 300:
                return out
            if status not in (0, 503) or time.monotonic() > deadline:
                raise RuntimeError("%s %s: %d %s" % (method, path, status, out))
            time.sleep(0.2)


class Run:
    def __init__(self, top, env):
        self.top, self.env = top, env
        self.server_bin = os.path.abspath(env["HPO_SERVER_BIN"])
        self.worker_bin = os.path.abspath(env["HPO_WORKER_BIN"])
        self.pg_dir = os.path.join(top, "pg")
        self.pg_port = free_port()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.server = None
        self.server_runs = 0
        self.rss = []  # (server run, seconds into it, MB)
        self.workers = {}
        self.worker_runs = 0

    def start_pg(self):
        conn = run("bash", PG_SH, "start", self.pg_dir, str(self.pg_port)).strip()
        return conn

    def stop_pg(self):
        run("bash", PG_SH, "stop", self.pg_dir, check_rc=False)

    def start_server(self):
        self.server_runs += 1
        out = open(os.path.join(self.top, "server-%d.log" % self.server_runs), "w")
        self.server = subprocess.Popen(
            [self.server_bin, "--db", self.db, "--listen", "127.0.0.1:%d" % self.port,
             "--threads", "8", "--log-level", "warn",
             "--artifact-dir", os.path.join(self.top, "artifacts")],
            stdout=subprocess.PIPE, stderr=out, text=True)
        line = self.server.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError("hpo-server did not start (run %d): %r" % (self.server_runs, line))
        self.server_t0 = time.monotonic()

    def start_worker(self, i):
        self.worker_runs += 1
        err = open(os.path.join(self.top, "worker-%d-%d.log" % (i, self.worker_runs)), "w")
        self.workers[i] = subprocess.Popen(
            [self.worker_bin, "--server", self.url, "--token-file", self.worker_token,
             "--study", "chaos", "--gpus", "none", "--parallel", "1", "--heartbeat-s", "1",
             "--grace-ms", "500", "--requeue-on-exit", "--log-level", "debug", "--worker-id", "w%d-%d" % (i, self.worker_runs),
             "--work-dir", os.path.join(self.top, "work-%d-%d" % (i, self.worker_runs)),
             "--", "sh", self.train],
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)

    def sample_rss(self, stop):
        """Every 0.2 s until stop is set: the RSS of the server running then."""
        while not stop.wait(0.2):
            server, run_no, t0 = self.server, self.server_runs, self.server_t0
            mb = rss_mb(server.pid) if server and server.poll() is None else None
            if mb is not None:
                self.rss.append((run_no, time.monotonic() - t0, mb))


def schedule(rng, duration, worker_kills, preempts, server_kills, pg_restarts, n_workers):
    """The faults: (seconds from the start, kind, worker index), spread over the first 80 % of
    the expected run so that the study still has trials to lose to each; the server's kills in
    the first 60 %, so that its last run is long enough to watch its memory."""
    ev = [(rng.uniform(0.05, 0.8) * duration, "worker", rng.randrange(n_workers))
          for _ in range(worker_kills)]
    ev += [(rng.uniform(0.05, 0.8) * duration, "preempt", rng.randrange(n_workers))
           for _ in range(preempts)]
    ev += [(rng.uniform(0.1, 0.6) * duration, "server", None) for _ in range(server_kills)]
    ev += [(rng.uniform(0.1, 0.8) * duration, "postgres", None) for _ in range(pg_restarts)]
    return sorted(ev, key=lambda e: e[0])


def main():
    env = os.environ
    for k in ("HPO_SERVER_BIN", "HPO_WORKER_BIN"):
        if not env.get(k):
            sys.exit("test_chaos.py: %s must be set" % k)
    if os.getuid() != 0:
        sys.exit("test_chaos.py: must run as root (the PostgreSQL cluster belongs to postgres)")
    seed = int(env.get("CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
    n_trials = int(env.get("CHAOS_TRIALS", "40"))
    worker_kills = int(env.get("CHAOS_WORKER_KILLS", "4"))
    preempts = int(env.get("CHAOS_PREEMPTS", "1"))
    server_kills = int(env.get("CHAOS_SERVER_KILLS", "1"))
    pg_restarts = int(env.get("CHAOS_PG_RESTARTS", "1"))
    n_workers = int(env.get("CHAOS_WORKERS", "4"))
    timeout_s = float(env.get("CHAOS_TIMEOUT_S", "300"))
    rng = random.Random(seed)
    # a trial takes about 0.5 s: the run, without faults, about this long
    duration = max(8.0, n_trials * 0.6 / n_workers)
    events = schedule(rng, duration, worker_kills, preempts, server_kills, pg_restarts, n_workers)
    log("seed %d (CHAOS_SEED=%d replays this schedule): %d trials, %d workers; faults at %s"
        % (seed, seed, n_trials, n_workers,
           ", ".join("%.1fs %s%s" % (t, k, "" if w is None else " w%d" % w) for t, k, w in events)))

    top = tempfile.mkdtemp(prefix="hpo-chaos-", dir="/tmp")
    os.chmod(top, 0o755)
    r = Run(top, env)
    r.train = os.path.join(top, "train.sh")
    with open(r.train, "w") as f:
        f.write(TRAIN)
    t_start = time.monotonic()
    try:
        conn = r.start_pg()
        run("psql", conn, "-qAtX", "-c", "CREATE DATABASE hpo")
        r.db = conn + " dbname=hpo"
        admin = run(r.server_bin, "token", "create", "--db", r.db, "--scope", "admin").split("\n")[0]
        wtok = run(r.server_bin, "token", "create", "--db", r.db, "--scope", "worker",
                   "--study", "chaos").split("\n")[0]
        r.worker_token = os.path.join(top, "worker.token")
        fd = os.open(r.worker_token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (wtok + "\n").encode())
        os.close(fd)
        r.start_server()
        api = Api(r.url, admin)
        api.ok("POST", "/studies", {
            "name": "chaos", "direction": "minimize", "max_trials": n_trials,
            "sampler": {"type": "random", "seed": seed % 100000},
            "pruner": {"type": "median", "n_startup_trials": 5, "n_warmup_steps": 3},
            "search_space": {"x": {"type": "float", "low": 0, "high": 1}},
            "heartbeat_grace": 3,
            "retry": {"max_retries": MAX_RETRIES, "on": ["fail", "heartbeat_lost", "preempted"]}})
        for i in range(n_workers):
            r.start_worker(i)
        sampling = threading.Event()
        threading.Thread(target=r.sample_rss, args=(sampling,), daemon=True).start()

        t0 = time.monotonic()
        done_faults = {"worker": 0, "preempt": 0, "server": 0, "postgres": 0}
        pending = list(events)
        finished = False
        while time.monotonic() - t0 < timeout_s:
            now = time.monotonic() - t0
            while pending and pending[0][0] <= now:
                _, kind, w = pending.pop(0)
                if kind == "worker":
                    kill_tree(r.workers[w])
                    log("%.1fs: killed worker w%d (and its command)" % (now, w))
                    time.sleep(rng.uniform(0.1, 1.0))
                    r.start_worker(w)
                elif kind == "preempt":
                    p = r.workers[w]
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(20)
                    except subprocess.TimeoutExpired:
                        kill_tree(p)
                    log("%.1fs: preempted worker w%d (SIGTERM: its trial goes back)" % (now, w))
                    r.start_worker(w)
                elif kind == "server":
                    r.server.kill()
                    r.server.wait()
                    log("%.1fs: killed hpo-server (SIGKILL)" % now)
                    time.sleep(rng.uniform(0.2, 1.5))
                    r.start_server()
                else:
                    r.stop_pg()
                    log("%.1fs: PostgreSQL stopped" % now)
                    time.sleep(rng.uniform(0.5, 2.0))
                    r.start_pg()
                    log("%.1fs: PostgreSQL started again" % (time.monotonic() - t0))
                done_faults[kind] += 1
            for i, p in list(r.workers.items()):
                if p.poll() is not None and not finished:  # a worker that gave up: start it again
                    r.start_worker(i)
            status, s = api.call("GET", "/studies/chaos")
            if status == 200 and not pending:
                c = s.get("counts", {})
                if (c.get("complete", 0) + c.get("pruned", 0) >= n_trials and
                        not c.get("running") and not c.get("waiting") and not c.get("paused")):
                    finished = True
                    break
            time.sleep(0.25)
        elapsed = time.monotonic() - t0
        sampling.set()
        check(finished, "the study finished within %.0f s" % timeout_s, "%.1f s" % elapsed)
        for p in r.workers.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in r.workers.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                kill_tree(p)
        log("faults done: %s" % done_faults)
        check(done_faults["worker"] >= worker_kills and done_faults["preempt"] >= preempts and
              done_faults["server"] >= server_kills and done_faults["postgres"] >= pg_restarts,
              "every scheduled fault happened", done_faults)

        # the study as the database holds it
        trials, after = [], None
        while True:
            page = api.ok("GET", "/studies/chaos/trials?limit=1000" +
                          ("" if after is None else "&after=%d" % after))
            trials += page["trials"]
            after = page.get("next_after")
            if after is None:
                break
        numbers = sorted(t["number"] for t in trials)
        check(numbers == list(range(len(numbers))), "no duplicate trial numbers, none missing",
              "%d trials" % len(numbers))
        sql = lambda q: run("psql", r.db, "-qAtX", "-c", q).strip()
        dup = sql("SELECT count(*) FROM (SELECT number FROM trials GROUP BY study_id, number"
                  " HAVING count(*) > 1) d")
        check(dup == "0", "no trial number twice in PostgreSQL", dup)
        by = {t["number"]: t for t in trials}
        configs = [t for t in trials if t.get("retry_of") is None]
        ends = {}
        for t in configs:  # follow each configuration's chain of retries to its last attempt
            last = t
            while last.get("retried_by") is not None:
                last = by[last["retried_by"]]
            ends[t["number"]] = last
        done = [t for t in ends.values() if t["state"] in ("complete", "pruned")]
        check(len(configs) == n_trials, "max_trials configurations", len(configs))
        check(len(done) == n_trials, "complete + pruned configurations == max_trials",
              "%d (complete %d, pruned %d)" % (len(done), sum(t["state"] == "complete" for t in done),
                                               sum(t["state"] == "pruned" for t in done)))
        live = [t["number"] for t in trials if t["state"] in ("running", "waiting", "paused")]
        check(not live, "no trial left running, waiting or paused", live)
        failed = [t for t in trials if t["state"] == "fail"]
        unretried = [t["number"] for t in failed if t.get("retried_by") is None]
        check(not unretried, "every failed trial was retried (policy: %d retries)" % MAX_RETRIES,
              "%d failed, reasons %s; not retried %s" % (
                  len(failed), sorted({t.get("fail_reason") or "" for t in failed}), unretried))
        for t in trials:
            if t.get("retry_of") is not None:
                src = by[t["retry_of"]]
                if src["params"] != t["params"] or src.get("retried_by") != t["number"]:
                    check(False, "a retry has its original's params and the chain both ways",
                          (src["number"], t["number"]))
                    break

        # every report a worker saw acknowledged
        acked = set()
        for path in glob.glob(os.path.join(top, "worker-*.log")):
            for m in ACK.finditer(open(path, errors="replace").read()):
                if m.group(1) == "chaos":
                    acked.add((int(m.group(2)), int(m.group(3))))
        stored = {(t["number"], iv["step"]) for t in trials for iv in t["intermediate_values"]}
        lost = sorted(acked - stored)
        check(acked and not lost, "every report a worker saw acknowledged is in the database",
              "%d acknowledged, %d missing %s" % (len(acked), len(lost), lost[:10]))

        # memory of the last server run
        last = [(t, mb) for run_no, t, mb in r.rss if run_no == r.server_runs]
        if len(last) >= 4:
            early = max(mb for t, mb in last[: max(2, len(last) // 4)])
            end = last[-1][1]
            check(end <= early * 1.5 + 16, "the server's memory is stable over its last run",
                  "RSS %.1f MB early, %.1f MB at the end (%d samples over %.0f s)"
                  % (early, end, len(last), last[-1][0]))
        else:
            check(False, "the server's memory is stable over its last run", "too few samples")
        log("run: %.1f s, %d trials for %d configurations, %d failed and retried, %d server runs, "
            "%d worker runs" % (elapsed, len(trials), n_trials, len(failed), r.server_runs,
                                r.worker_runs))
    finally:
        for p in r.workers.values():
            if p.poll() is None:
                kill_tree(p)
        if r.server and r.server.poll() is None:
            r.server.terminate()
            try:
                r.server.wait(20)
            except subprocess.TimeoutExpired:
                r.server.kill()
        r.stop_pg()
        if FAILED and env.get("CHAOS_KEEP") == "1":
            log("kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    finish(" (seed %d, %.1f s)" % (seed, time.monotonic() - t_start))


if __name__ == "__main__":
    main()
