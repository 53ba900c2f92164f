# tests/deploy/test_prometheus.py: Debian's prometheus scrapes the real hpo-server as an operator
# would set it up: auth on, a read token in a 0600 file named by `authorization: {type: Bearer,
# credentials_file: ...}`, a scrape every second. After a small study (asks, reports, finishes)
# the values read back through Prometheus's query API, from a scrape made after the work, equal
# what the test did; up{job="hpo"} is 1, and a second job without the token is down with the
# server's 401. A missing prometheus binary fails the test (deploy/install-deps.sh --tests
# installs it).
"""Usage: HPO_SERVER_BIN=build/server/hpo-server HPO_TEST_PG="host=... dbname=postgres" \
   python3 tests/deploy/test_prometheus.py"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import check, finish, free_port  # noqa: E402
from hpo_testserver import TestServer  # noqa: E402

STUDY = "prom-deploy"
ASKS = 3
STEPS = 4  # reports per trial, one new step each
DEADLINE_S = 20


def api(url, method, path, token, body=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        out = r.read()
    return json.loads(out) if out else None


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def prometheus_config(target, token_file):
    """Two jobs on the same server: hpo with the read token, hpo-noauth without it."""
    return """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: hpo
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: %s
    static_configs:
      - targets: ['%s']
  - job_name: hpo-noauth
    metrics_path: /metrics
    static_configs:
      - targets: ['%s']
""" % (token_file, target, target)


class Prometheus:
    def __init__(self, binary, workdir, config_text):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(config_text)
        self.log = open(os.path.join(workdir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(workdir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.loads(r.read())

    def wait_ready(self):
        until = time.monotonic() + DEADLINE_S
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited with %d" % self.proc.returncode)
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("prometheus not ready after %d s" % DEADLINE_S)

    def query(self, promql):
        """{frozenset(labels): (sample time, value)} of an instant query."""
        out = self.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        if out.get("status") != "success":
            raise RuntimeError("query %s: %s" % (promql, out))
        return {frozenset(r["metric"].items()): (float(r["value"][0]), float(r["value"][1]))
                for r in out["data"]["result"]}

    def scraped_after(self, job, t):
        """Waits until the job's last scrape began after t (Unix time); True if it did."""
        until = time.monotonic() + DEADLINE_S
        while time.monotonic() < until:
            r = self.query('timestamp(up{job="%s"})' % job)
            if r and min(v for _, v in r.values()) > t:
                return True
            time.sleep(0.3)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def one(prom, promql):
    """The value of a query that must give exactly one series (None otherwise)."""
    r = prom.query(promql)
    return next(iter(r.values()))[1] if len(r) == 1 else None


def run(srv, prom_bin, workdir):
    read = srv.create_token("read", "--name", "prometheus")
    token_file = os.path.join(workdir, "read.token")
    write_private(token_file, read + "\n")
    target = urllib.parse.urlparse(srv.url).netloc
    prom = Prometheus(prom_bin, workdir, prometheus_config(target, token_file))
    try:
        prom.wait_ready()
        api(srv.url, "POST", "/api/v1/studies", srv.token,
            {"name": STUDY, "direction": "maximize",
             "search_space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}}})
        for _ in range(ASKS):
            n = api(srv.url, "POST", "/api/v1/studies/%s/trials" % STUDY, srv.token,
                    {"worker": "w"})["number"]
            for step in range(STEPS):
                api(srv.url, "POST", "/api/v1/studies/%s/trials/%d/reports" % (STUDY, n),
                    srv.token, {"step": step, "value": 0.1 * step})
            api(srv.url, "POST", "/api/v1/studies/%s/trials/%d/finish" % (STUDY, n), srv.token,
                {"state": "complete", "value": 0.5})
        done = time.time()
        check(prom.scraped_after("hpo", done), "prometheus scraped the server after the work")
        check(prom.scraped_after("hpo-noauth", done), "and tried the job without a token")

        check(one(prom, 'up{job="hpo"}') == 1, 'up{job="hpo"} == 1', prom.query('up{job="hpo"}'))
        check(one(prom, 'up{job="hpo-noauth"}') == 0, 'up{job="hpo-noauth"} == 0 (no token)',
              prom.query('up{job="hpo-noauth"}'))
        targets = prom.get("/api/v1/targets")["data"]["activeTargets"]
        errors = {t["labels"]["job"]: (t["health"], t["lastError"]) for t in targets}
        check(errors.get("hpo") == ("up", ""), "target hpo healthy", errors.get("hpo"))
        check("401" in (errors.get("hpo-noauth") or ("", ""))[1],
              "target hpo-noauth refused with 401", errors.get("hpo-noauth"))

        want = {
            'hpo_asks_total{job="hpo"}': ASKS,
            'hpo_reports_total{job="hpo"}': ASKS * STEPS,
            'hpo_prunes_total{job="hpo"}': 0,
            'hpo_trials{job="hpo",study="%s",state="complete"}' % STUDY: ASKS,
            'hpo_trials{job="hpo",study="%s",state="running"}' % STUDY: 0,
            'hpo_workers_alive{job="hpo",study="%s"}' % STUDY: 0,
            'hpo_http_requests_total{job="hpo",route="/api/v1/studies/{study}/trials",'
            'method="POST",status="201"}': ASKS,
            'hpo_http_requests_total{job="hpo",route="/api/v1/studies/{study}/trials/{n}/'
            'reports",method="POST",status="200"}': ASKS * STEPS,
            'hpo_db_commit_duration_seconds_count{job="hpo"}': ASKS * (STEPS + 2),
            'hpo_build_info{job="hpo"}': 1,
        }
        for q, v in want.items():
            got = one(prom, q)
            check(got == v, "%s == %s" % (q, v), got)
        got = one(prom, 'hpo_http_request_duration_seconds_count{job="hpo",'
                        'route="/api/v1/studies/{study}/trials",method="POST"}')
        check(got == ASKS, "the ask latency histogram counted the asks", got)
        p99 = one(prom, 'histogram_quantile(0.99, sum by (le) (hpo_http_request_duration_seconds_'
                        'bucket{job="hpo",route="/api/v1/studies/{study}/trials/{n}/reports"}))')
        check(p99 is not None and 0 < p99 <= 10, "histogram_quantile over the report latency",
              p99)
        # each scrape shows the scrapes before it: after one more, the server's count of
        # /metrics answered 200 is exactly Prometheus's count of scrapes less the current one
        last = max(v for _, v in prom.query('timestamp(up{job="hpo"})').values())
        check(prom.scraped_after("hpo", last), "one more scrape")
        diff = one(prom, 'hpo_http_requests_total{job="hpo",route="/metrics",method="GET",'
                         'status="200"} - on (job, instance) '
                         '(count_over_time(up{job="hpo"}[10m]) - 1)')
        check(diff == 0, "the server counted every scrape before the last (/metrics 200)", diff)
    finally:
        prom.stop()
        with open(os.path.join(workdir, "prometheus.log")) as f:
            tail = f.read()[-2000:]
        if tail.strip():
            print("prometheus log (tail):\n" + tail)


def main():
    prom_bin = shutil.which("prometheus")
    if not prom_bin:
        print("FAIL: the prometheus binary is missing: install Debian's prometheus "
              "(deploy/install-deps.sh --tests)")
        sys.exit(1)
    pg = os.environ.get("HPO_TEST_PG")
    if not pg:
        print("FAIL: HPO_TEST_PG is not set: it must be a conninfo of a PostgreSQL that allows "
              "CREATE DATABASE")
        sys.exit(1)
    t0 = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="hpo-prometheus-")
    srv = TestServer(os.environ["HPO_SERVER_BIN"], pg, "prom")
    try:
        srv.start()
        run(srv, prom_bin, workdir)
    finally:
        srv.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    check(not os.path.exists(workdir), "temp dir removed")
    print("took %.1f s" % (time.monotonic() - t0))
    finish(" (prometheus)")


if __name__ == "__main__":
    main()
