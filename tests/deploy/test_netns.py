# tests/deploy/test_netns.py: a study run across hosts made of Linux network namespaces, with TLS
# and tokens on, while one worker's network link is cut for longer than the heartbeat grace.
#
# Topology (every name carries this run's pid; nothing is added to the host's own namespace):
#   hponet<pid>-sw   the "switch": a bridge br0 and one veth end per host (p-db, p-w1..p-w3)
#   hponet<pid>-db   eth0 10.201.N.1/24: PostgreSQL (127.0.0.1 and its socket only) and
#                    hpo-server (HTTPS on 10.201.N.1 only)
#   hponet<pid>-wK   eth0 10.201.N.1K/24 (K = 1..3): hpo-worker --worker-id wK, reaching the
#                    server at https://10.201.N.1:PORT with --cacert and a worker token file
# N is derived from the pid. The test's own API calls (admin token) are curl in the db namespace
# to the server's address, verified against the test CA (certificate for IP:10.201.N.1).
#
# The study: max_trials configurations, heartbeat_grace GRACE s, retry on heartbeat_lost. Its
# command (netns_objective.py) prints STEPS reports and a final value and records every line it
# printed. During its first trial, once 3 reports of it were acknowledged, w2's switch port is set
# down for 2 x GRACE and then up again. Checks:
#   - the server reaps w2's trial while the link is down (fail, heartbeat_lost, worker w2) and
#     retries it: exactly one retry, of that trial, with its params, complete;
#   - the study completes: max_trials configurations, each complete exactly once (distinct params
#     among the complete trials == max_trials), no other trial failed, none left running/waiting;
#   - every report a worker saw acknowledged (its `step S acknowledged` debug lines) is in
#     PostgreSQL with the value the command printed; for every complete trial PostgreSQL holds
#     exactly the reports and the final value its command printed; for the reaped trial it holds
#     only reports its command printed;
#   - w2 sees the trial dropped after the link comes back and stops its command, which was still
#     running; it asks again and exits 0 like the others (its contract: a lost trial is dropped,
#     nothing more is sent for it, the worker goes on until the study is complete);
#   - the server listens only on its namespace address, the host has no route to the subnet, and
#     no process is left in the namespaces once the workers, the server and PostgreSQL stopped.
# The namespaces (and with them the bridge and veths), the processes and the files are removed
# on any exit, failure and SIGTERM included; namespaces left by a run that was SIGKILLed (its pid
# gone) are removed at the start. Needs root, iproute2 (ip), openssl, curl, PostgreSQL's server
# binaries and psql: without them the test fails and says so.
"""Usage: HPO_SERVER_BIN=... HPO_WORKER_BIN=... python3 tests/deploy/test_netns.py
Environment: NETNS_KEEP=1 keeps the run's directory (logs, the commands' records)."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SH = os.path.join(HERE, "..", "..", "deploy", "pg.sh")
OBJECTIVE = os.path.join(HERE, "netns_objective.py")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from hpo_checks import FAILED, check, finish  # noqa: E402

STUDY = "netns"
MAX_TRIALS = 12
GRACE_S = 3.0
STEPS = 10
CUT_STEPS = 60  # w2's first trial: still running when its link comes back
STEP_SLEEP_S = 0.25
WORKERS = ("w1", "w2", "w3")
CUT = "w2"
PG_PORT = 5432  # inside the db namespace: nobody else's
ACKED_BEFORE_CUT = 3  # reports of w2's first trial acknowledged before its link is cut
DEADLINE_S = 120  # for the study, from the workers' start
NS_RE = re.compile(r"^hponet(\d+)-(sw|db|w\d)$")
ACK_RE = re.compile(r"trial %s/(\d+): step (\d+) acknowledged" % STUDY)

T0 = time.monotonic()


def log(msg):
    print("[%5.1f s] %s" % (time.monotonic() - T0, msg), flush=True)


def die(msg):
    print("FAIL test_netns: " + msg, flush=True)
    sys.exit(1)


def sh(*cmd, input=None, timeout=60, check_rc=True):
    r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, cwd="/")
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s"
                           % (" ".join(cmd), r.returncode, r.stderr.strip()[-2000:]))
    return r.stdout


def nsx(ns, *cmd):
    return ("ip", "netns", "exec", ns) + cmd


def ns_pids(ns):
    out = sh("ip", "netns", "pids", ns, check_rc=False)
    return [int(p) for p in out.split()]


def ns_list():
    return [line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line.strip()]


def kill_ns(ns, pg_dir=None, signals=(signal.SIGTERM, signal.SIGKILL)):
    """Stops everything left in namespace ns (PostgreSQL first, in fast mode; then each signal in
    turn, 5 s apart), then removes it."""
    if ns not in ns_list():
        return
    if pg_dir and os.path.isdir(pg_dir):
        sh("bash", PG_SH, "stop", pg_dir, check_rc=False, timeout=90)
    for sig in signals:
        pids = ns_pids(ns)
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        for _ in range(50):
            if not ns_pids(ns):
                break
            time.sleep(0.1)
    sh("ip", "netns", "del", ns, check_rc=False)


def sweep_stale():
    """What earlier runs of this test that were killed outright (their pid gone) left: their
    namespaces, with whatever still runs there, and their directories under /tmp."""
    def gone(pid):
        return pid != os.getpid() and not os.path.exists("/proc/%d" % pid)

    dirs = [d for d in glob.glob("/tmp/hpo-netns-*-*")
            if re.match(r"^hpo-netns-\d+-", os.path.basename(d))
            and gone(int(os.path.basename(d).split("-")[2]))]
    for d in dirs:
        if os.path.isdir(os.path.join(d, "pg", "data")):
            sh("bash", PG_SH, "stop", os.path.join(d, "pg"), check_rc=False, timeout=90)
    for ns in ns_list():
        m = NS_RE.match(ns)
        if m and gone(int(m.group(1))):
            log("removing %s, left by run %s" % (ns, m.group(1)))
            kill_ns(ns, signals=(signal.SIGKILL,))  # orphans: a worker would drain first
    for d in dirs:
        log("removing %s, left by an earlier run" % d)
        shutil.rmtree(d, ignore_errors=True)


def requirements():
    if os.geteuid() != 0:
        die("must run as root (network namespaces; PostgreSQL runs as the postgres user)")
    missing = [p for p in ("ip", "ss", "openssl", "curl", "psql", "runuser") if not shutil.which(p)]
    if missing:
        die("missing program(s): %s (packages iproute2, openssl, curl, postgresql-client)"
            % ", ".join(missing))
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl") and not os.environ.get("PG_BINDIR"):
        die("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if r.returncode != 0:
        die("`ip netns` does not work here: %s" % r.stderr.strip())
    for var in ("HPO_SERVER_BIN", "HPO_WORKER_BIN"):
        if not os.environ.get(var):
            die(var + " must be set")
        if not os.access(os.environ[var], os.X_OK):
            die("%s=%s is not an executable" % (var, os.environ[var]))
    return (os.path.abspath(os.environ["HPO_SERVER_BIN"]),
            os.path.abspath(os.environ["HPO_WORKER_BIN"]))


class Net:
    """The switch namespace with its bridge and one namespace per host, each with one veth whose
    other end is a port of the bridge."""

    def __init__(self):
        pid = os.getpid()
        self.prefix = "hponet%d-" % pid
        self.subnet = "10.201.%d" % (pid % 250 + 1)
        self.sw = self.prefix + "sw"
        self.hosts = {}  # host -> (namespace, address)
        self.made = []

    def ns(self, host):
        return self.hosts[host][0]

    def addr(self, host):
        return self.hosts[host][1]

    def _add_ns(self, ns):
        sh("ip", "netns", "add", ns)
        self.made.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")

    def build(self, hosts):
        self._add_ns(self.sw)
        sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.sw, "link", "set", "br0", "up")
        for host, octet in hosts:
            ns, addr = self.prefix + host, "%s.%d" % (self.subnet, octet)
            self._add_ns(ns)
            # the pair is made from the switch namespace with its other end created right in
            # the host's namespace: the machine's own namespace never holds either end
            sh("ip", "-n", self.sw, "link", "add", "p-" + host, "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.sw, "link", "set", "p-" + host, "master", "br0")
            sh("ip", "-n", self.sw, "link", "set", "p-" + host, "up")
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            self.hosts[host] = (ns, addr)

    def port(self, host, up):
        sh("ip", "-n", self.sw, "link", "set", "p-" + host, "up" if up else "down")

    def teardown(self, pg_dir):
        # hosts first (PostgreSQL stopped properly in db), the switch last
        for ns in reversed(self.made):
            kill_ns(ns, pg_dir if ns == self.prefix + "db" else None)
        self.made = [ns for ns in self.made if ns in ns_list()]
        return not self.made


def make_certificates(d, ip):
    """A CA and a certificate for the server's IP address signed by it."""
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:%s\n" % ip)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    sh("openssl", "req", "-x509", *ec, "-keyout", d + "/ca.key", "-out", d + "/ca.pem",
       "-days", "2", "-subj", "/CN=hpo-netns-test-ca")
    sh("openssl", "req", *ec, "-keyout", d + "/server.key", "-out", d + "/server.csr",
       "-subj", "/CN=" + ip)
    sh("openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey",
       d + "/ca.key", "-CAcreateserial", "-out", d + "/server.pem", "-days", "2",
       "-extfile", d + "/san.ext")
    return d + "/ca.pem", d + "/server.pem", d + "/server.key"


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Api:
    """curl in the db namespace to the server's address, TLS verified against the test CA, the
    admin token sent from a 0600 header file (not on a command line)."""

    def __init__(self, ns, url, cacert, header_file):
        self.ns, self.url, self.cacert, self.header_file = ns, url, cacert, header_file

    def call(self, method, path, body=None):
        cmd = ["curl", "-sS", "--max-time", "20", "--cacert", self.cacert,
               "-H", "@" + self.header_file, "-X", method, "-w", "\n%{http_code}",
               self.url + "/api/v1" + path]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        out = sh(*nsx(self.ns, *cmd), input=json.dumps(body) if body is not None else None,
                 timeout=30)
        text, _, status = out.rpartition("\n")
        return int(status), json.loads(text) if text.strip() else None

    def ok(self, method, path, body=None):
        status, out = self.call(method, path, body)
        if status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, out))
        return out

    def trials(self):
        out, after = [], None
        while True:
            page = self.ok("GET", "/studies/%s/trials?limit=1000%s"
                           % (STUDY, "" if after is None else "&after=%d" % after))
            out += page["trials"]
            after = page.get("next_after")
            if after is None:
                return out


def read_records(path):
    """The objective's records: a list of dicts (a torn last line, from a kill, is skipped)."""
    out = []
    if os.path.exists(path):
        for line in open(path):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def acked_steps(worker_log):
    out = set()
    if os.path.exists(worker_log):
        for m in ACK_RE.finditer(open(worker_log, errors="replace").read()):
            out.add((int(m.group(1)), int(m.group(2))))
    return out


def listening(ns):
    """The TCP addresses listened on in namespace ns."""
    lines = sh(*nsx(ns, "ss", "-ltnH")).splitlines()
    return sorted(line.split()[3] for line in lines if line.strip())


def run(top, server_bin, worker_bin, net, pg_dir, procs):
    net.build([("db", 1)] + [(w, 10 + i + 1) for i, w in enumerate(WORKERS)])
    db_ns, db_ip = net.ns("db"), net.addr("db")
    log("namespaces: %s" % ", ".join(net.made))
    routes = sh("ip", "route", "show", "table", "all").splitlines()
    check(not [r for r in routes if net.subnet + "." in r],
          "the host's own namespace has no route to %s.0/24" % net.subnet)

    # PostgreSQL on the db host: its socket and 127.0.0.1 there
    conninfo = sh(*nsx(db_ns, "bash", PG_SH, "start", pg_dir, str(PG_PORT)), timeout=120).strip()
    db_conninfo = conninfo + " dbname=hpo"
    sh(*nsx(db_ns, "psql", conninfo, "-qAtX", "-c", "CREATE DATABASE hpo"))

    certs = os.path.join(top, "certs")
    os.mkdir(certs, 0o700)
    cacert, cert, key = make_certificates(certs, db_ip)
    secrets = os.path.join(top, "secrets")
    os.mkdir(secrets, 0o700)

    def token(scope, *extra):
        out = sh(*nsx(db_ns, server_bin, "token", "create", "--db", db_conninfo, "--scope", scope,
                      "--name", "netns-test", *extra))
        t = out.split("\n", 1)[0].strip()
        if not t:
            raise RuntimeError("hpo-server token create --scope %s printed no token" % scope)
        return t

    admin = token("admin")
    header_file = os.path.join(secrets, "admin.header")
    write_secret(header_file, "Authorization: Bearer %s\n" % admin)
    worker_token_file = os.path.join(secrets, "worker.token")
    write_secret(worker_token_file, token("worker", "--study", STUDY) + "\n")
    os.chmod(secrets, 0o755)  # the files stay 0600; workers run as root anyway

    # hpo-server on its namespace address only
    art = os.path.join(top, "artifacts")
    server_err = open(os.path.join(top, "server.log"), "w")
    server = subprocess.Popen(nsx(db_ns, server_bin, "--db", db_conninfo, "--listen", db_ip + ":0",
                                  "--tls-cert", cert, "--tls-key", key, "--artifact-dir", art,
                                  "--threads", "8", "--log-level", "info"),
                              stdout=subprocess.PIPE, stderr=server_err, text=True, cwd="/")
    procs["server"] = server
    line = server.stdout.readline()
    m = re.match(r"listening on (\S+):(\d+)", line)
    if not m:
        raise RuntimeError("hpo-server did not start (first line %r); see %s/server.log"
                           % (line, top))
    port = int(m.group(2))
    url = "https://%s:%d" % (db_ip, port)
    log("hpo-server: %s" % url)
    heard = listening(db_ns)
    stray = [a for a in heard if not (a.startswith(db_ip + ":") or a.startswith("127.0.0.1:"))]
    check("%s:%d" % (db_ip, port) in heard and "127.0.0.1:%d" % PG_PORT in heard and not stray,
          "in the db namespace the server listens on %s only, PostgreSQL on 127.0.0.1, nothing on "
          "a wildcard address" % db_ip, heard)
    host_ports = [a for a in sh("ss", "-ltnH").split() if a.endswith(":%d" % port)]
    check(not host_ports, "nothing listens on the server's port in the host's namespace",
          host_ports)

    api = Api(db_ns, url, cacert, header_file)
    status, _ = api.call("GET", "/studies")
    status_noauth = int(sh(*nsx(db_ns, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                "--cacert", cacert, url + "/api/v1/studies")))
    check(status == 200 and status_noauth == 401, "TLS verified for IP:%s; tokens required" % db_ip,
          "with the token %d, without %d" % (status, status_noauth))
    api.ok("POST", "/studies", {
        "name": STUDY, "direction": "minimize", "sampler": {"type": "random", "seed": os.getpid()},
        "search_space": {"x": {"type": "float", "low": 0.0, "high": 1.0},
                         "y": {"type": "float", "low": 0.0, "high": 1.0}},
        "max_trials": MAX_TRIALS, "heartbeat_grace": GRACE_S,
        "retry": {"max_retries": 2, "on": ["heartbeat_lost"]}})

    # the workers, one per host
    records = {w: os.path.join(top, "objective-%s.jsonl" % w) for w in WORKERS}
    wlogs = {w: os.path.join(top, "worker-%s.log" % w) for w in WORKERS}
    t_start = time.time()
    for w in WORKERS:
        wdir = os.path.join(top, "work-" + w)
        os.mkdir(wdir)
        procs[w] = subprocess.Popen(
            nsx(net.ns(w), worker_bin, "--server", url, "--study", STUDY, "--token-file",
                worker_token_file, "--cacert", cacert, "--heartbeat-s", "1", "--gpus", "none",
                "--worker-id", w, "--work-dir", wdir, "--log-level", "debug", "--",
                "/usr/bin/python3", OBJECTIVE, records[w], "{x}", "{y}", str(STEPS),
                str(STEP_SLEEP_S), *((str(CUT_STEPS),) if w == CUT else ())),
            stdout=subprocess.DEVNULL, stderr=open(wlogs[w], "w"), cwd="/")

    # the cut: in w2's first trial, once some of its reports were acknowledged
    deadline = time.monotonic() + 30
    cut_trial = None
    while cut_trial is None:
        if time.monotonic() > deadline or procs[CUT].poll() is not None:
            raise RuntimeError("%s never had %d reports of a trial acknowledged; see %s"
                               % (CUT, ACKED_BEFORE_CUT, wlogs[CUT]))
        recs = read_records(records[CUT])
        if recs:
            first = recs[0]["trial"]
            if any(r.get("final") and r["trial"] == first for r in recs):
                raise RuntimeError("%s's first trial ended before the cut (too fast?)" % CUT)
            if sum(n == first for n, _ in acked_steps(wlogs[CUT])) >= ACKED_BEFORE_CUT:
                cut_trial = first
        time.sleep(0.02)
    net.port(CUT, False)
    t_cut = time.time()
    log("%s's port is down, in its trial %d" % (CUT, cut_trial))
    reaped_after = None
    while time.time() < t_cut + 2 * GRACE_S:
        if reaped_after is None:
            t = api.ok("GET", "/studies/%s/trials/%d" % (STUDY, cut_trial))
            if t["state"] != "running":
                reaped_after = time.time() - t_cut
                log("trial %d: %s (%s) %.1f s after the cut"
                    % (cut_trial, t["state"], t.get("fail_reason"), reaped_after))
        time.sleep(0.2)
    net.port(CUT, True)
    t_up = time.time()
    log("%s's port is up again" % CUT)
    # its last report or heartbeat came at most a report interval (plus a request) before the cut
    check(reaped_after is not None and reaped_after >= GRACE_S - 1.0,
          "the server failed %s's trial while its link was down, not before the grace" % CUT,
          "%.1f s after the cut (grace %.1f s)" % (reaped_after, GRACE_S)
          if reaped_after is not None else "still running after %.1f s" % (2 * GRACE_S))

    # the study runs to its end; each worker exits by itself
    codes = {}
    for w in WORKERS:
        try:
            codes[w] = procs[w].wait(max(1, DEADLINE_S - (time.time() - t_start)))
        except subprocess.TimeoutExpired:
            codes[w] = "still running after %d s" % DEADLINE_S
    log("workers done: %s" % codes)
    check(all(c == 0 for c in codes.values()), "every worker exits 0 (the study is complete)",
          codes)

    study = api.ok("GET", "/studies/" + STUDY)
    trials = api.trials()
    by = {t["number"]: t for t in trials}

    # the reaped trial and its retry
    lost = by.get(cut_trial, {})
    check(lost.get("state") == "fail" and lost.get("fail_reason") == "heartbeat_lost"
          and lost.get("worker") == CUT,
          "trial %d (%s's, during the cut) failed with heartbeat_lost" % (cut_trial, CUT),
          {k: lost.get(k) for k in ("state", "fail_reason", "worker")})
    retry = by.get(lost.get("retried_by"), {})
    check(retry.get("retry_of") == cut_trial and retry.get("params") == lost.get("params")
          and retry.get("state") == "complete",
          "it was retried with the same params, and the retry is complete",
          {k: retry.get(k) for k in ("number", "retry_of", "params", "state", "worker")})

    # the study: max_trials configurations, each complete once
    configs = [t for t in trials if t.get("retry_of") is None]
    complete = [t for t in trials if t["state"] == "complete"]
    distinct = {json.dumps(t["params"], sort_keys=True) for t in complete}
    failed = sorted(t["number"] for t in trials if t["state"] == "fail")
    others = sorted(t["number"] for t in trials if t["state"] not in ("complete", "fail"))
    check(len(configs) == MAX_TRIALS and study.get("n_retries") == 1
          and study["n_trials"] == MAX_TRIALS + 1,
          "%d configurations and one retry" % MAX_TRIALS,
          "configurations %d, n_trials %s, n_retries %s" % (len(configs), study["n_trials"],
                                                          study.get("n_retries")))
    check(len(complete) == MAX_TRIALS and len(distinct) == MAX_TRIALS,
          "complete trials == distinct complete configurations == max_trials",
          "%d complete, %d distinct" % (len(complete), len(distinct)))
    check(failed == [cut_trial] and not others,
          "no trial but the cut one failed; none left running or waiting",
          "failed %s, other states %s" % (failed, [(n, by[n]["state"]) for n in others]))
    ends = []
    for t in configs:
        last = t
        while last.get("retried_by") is not None:
            last = by[last["retried_by"]]
        ends.append(last["state"])
    check(ends.count("complete") == MAX_TRIALS, "every configuration's last attempt is complete",
          ends)

    # reports: what the commands printed, what the workers saw acknowledged, what PostgreSQL holds
    printed, finals = {}, {}  # trial -> {step: value}, trial -> final value
    ran_by = {}
    for w in WORKERS:
        for r in read_records(records[w]):
            ran_by.setdefault(r["trial"], w)
            if r.get("final"):
                finals[r["trial"]] = r["value"]
            else:
                printed.setdefault(r["trial"], {})[r["step"]] = r["value"]
    rows = sh(*nsx(db_ns, "psql", db_conninfo, "-qAtX", "-F", " ", "-c",
                   "SELECT t.number, iv.step, iv.value FROM trial_intermediate_values iv"
                   " JOIN trials t ON t.id = iv.trial_id JOIN studies s ON s.id = t.study_id"
                   " WHERE s.name = '%s'" % STUDY))
    stored = {}
    for line in rows.splitlines():
        n, s, v = line.split()
        stored.setdefault(int(n), {})[int(s)] = float(v)
    acked = {w: acked_steps(wlogs[w]) for w in WORKERS}
    all_acked = set().union(*acked.values())
    missing = sorted((n, s) for n, s in all_acked if s not in stored.get(n, {}))
    wrong = sorted((n, s) for n, s in all_acked
                   if s in stored.get(n, {}) and stored[n][s] != printed.get(n, {}).get(s))
    cut_acked = sorted(s for n, s in acked[CUT] if n == cut_trial)
    check(all_acked and cut_acked and not missing and not wrong,
          "every acknowledged report is in PostgreSQL with the printed value",
          "%d acknowledged (%d of trial %d before the cut); missing %s; other value %s"
          % (len(all_acked), len(cut_acked), cut_trial, missing[:10], wrong[:10]))
    bad = []
    for t in complete:
        n = t["number"]
        if stored.get(n) != printed.get(n) or len(printed.get(n, {})) != STEPS \
                or t["value"] != finals.get(n) or t["worker"] != ran_by.get(n):
            bad.append((n, sorted(stored.get(n, {})), sorted(printed.get(n, {})), t["value"],
                        finals.get(n), t["worker"], ran_by.get(n)))
    check(len(complete) == MAX_TRIALS and not bad,
          "each complete trial holds exactly the %d reports and the final value its command printed"
          % STEPS, bad[:5])
    cut_stored, cut_printed = stored.get(cut_trial, {}), printed.get(cut_trial, {})
    check(set(cut_acked) <= set(cut_stored) and
          all(cut_printed.get(s) == v for s, v in cut_stored.items()),
          "the reaped trial holds its acknowledged reports and only printed ones",
          "acknowledged %s, stored %s, printed %s"
          % (cut_acked, sorted(cut_stored), sorted(cut_printed)))

    # w2 after the link came back: the trial dropped, its command (still running) stopped
    text = open(wlogs[CUT], errors="replace").read()
    dropped = re.search(r"trial %s/%d: the server no longer runs it" % (STUDY, cut_trial), text)
    stopped = re.search(r"trial %s/%d: dropped \(the server no longer runs it\); command killed by "
                        r"signal %d" % (STUDY, cut_trial, signal.SIGTERM), text)
    # (the worker stops it on the server's answer, which needs the link: it ran until then)
    cut_recs = [r for r in read_records(records[CUT]) if r["trial"] == cut_trial]
    last = max((r["t"] for r in cut_recs), default=t_up) - t_up
    check(stopped is not None and not any(r.get("final") for r in cut_recs)
          and len(cut_recs) < CUT_STEPS,
          "the lost trial's command, still running when the link came back, was stopped (SIGTERM)",
          "worker's line found: %s; the command printed %d of %d reports, the last %+.1f s from "
          "the link coming back" % (stopped is not None, len(cut_recs), CUT_STEPS, last))
    after = sorted({r["trial"] for r in read_records(records[CUT])
                    if r["t"] > t_up and r["trial"] != cut_trial and r.get("final")})
    check(dropped is not None and "study %s is complete" % STUDY in text and codes[CUT] == 0,
          "%s drops the lost trial once the link is back, goes on and exits 0 with the study "
          "complete" % CUT, "dropped: %s, trials it finished after the link came back: %s, exit %s"
          % (bool(dropped), after, codes[CUT]))
    log("%s finished trials %s after the link came back; the retry %s ran on %s"
        % (CUT, after, retry.get("number"), retry.get("worker")))

    # stop the server and PostgreSQL; nothing may be left in the namespaces
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(30)
    except subprocess.TimeoutExpired:
        rc = "still running after 30 s"
    check(rc == 0, "hpo-server exits 0 on SIGTERM", rc)
    sh("bash", PG_SH, "stop", pg_dir, timeout=90)
    time.sleep(0.2)
    left = {ns: ns_pids(ns) for ns in net.made if ns_pids(ns)}
    check(not left, "no process is left in the namespaces", left)


def main():
    server_bin, worker_bin = requirements()
    sweep_stale()
    top = tempfile.mkdtemp(prefix="hpo-netns-%d-" % os.getpid(), dir="/tmp")
    os.chmod(top, 0o755)  # PostgreSQL (user postgres) lives under it
    pg_dir = os.path.join(top, "pg")
    net = Net()
    procs = {}

    def on_signal(signum, _frame):
        raise SystemExit("test_netns: signal %d" % signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        run(top, server_bin, worker_bin, net, pg_dir, procs)
    except Exception as e:  # a setup step that failed: one failed check, then the cleanup
        check(False, "the run went through", "%s: %s" % (type(e).__name__, e))
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        for p in procs.values():
            p.wait()
        gone = net.teardown(pg_dir)
        ours = [ns for ns in ns_list() if ns.startswith(net.prefix)]
        check(gone and not ours, "the namespaces, veths and bridge are removed", ours)
        if os.environ.get("NETNS_KEEP") == "1":
            print("kept %s" % top)
        else:
            if FAILED:
                for name in sorted(os.listdir(top)):
                    if name.endswith(".log"):
                        print("---- %s (last lines)" % name)
                        with open(os.path.join(top, name), errors="replace") as f:
                            print("".join(f.readlines()[-25:]))
            shutil.rmtree(top, ignore_errors=True)
        log("done")
    finish(" (test_netns)")


if __name__ == "__main__":
    main()
