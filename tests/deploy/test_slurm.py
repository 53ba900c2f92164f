#!/usr/bin/env python3
# test_slurm: deploy/slurm for real on this machine (suite deploy). Starts a private single-node
# Slurm (munged with its own key and socket, slurmctld and slurmd on free ports, state, spool and
# logs in a temporary directory, a node of this machine's CPUs and memory with three fake GPUs:
# character devices made with mknod, gres.conf naming them), hpo-server over HPO_TEST_PG (auth on),
# then deploy/slurm/submit.sh creates a study and submits a job array of 3 hpo-worker tasks, one
# fake GPU each. Checks: every task runs trials, each trial sees its task's GPU; task 1 gets
# `scancel --batch --signal=TERM` mid-trial (the signal the time-limit warning sends) and task 2 a
# plain `scancel` mid-trial: both tasks end with none of their processes left and their trials
# handed back (preempted) and run again by task 0; the study completes and the queue empties. A
# second array of one task with a 1-minute limit gets the real warning of the script's
# --signal=B:TERM@120 (at slurmctld's next time-limit check, within 30 s) and hands its trial back.
# Also submit.sh's check of an existing study's config and the sbatch script's refusal of a
# missing setting. Needs root, Slurm, munge, curl and jq (deploy/install-deps.sh --tests): without
# them it fails, saying what is missing. Everything it started is stopped on any exit. About 30 s.
# Environment: HPO_TEST_PG, HPO_SERVER_BIN, HPO_WORKER_BIN (the meson test sets the last two).
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "support"))
from hpo_checks import check, finish, free_port  # noqa: E402
from hpo_testserver import TestServer  # noqa: E402

SUBMIT = os.path.join(REPO, "deploy", "slurm", "submit.sh")
SBATCH_SCRIPT = os.path.join(REPO, "deploy", "slurm", "hpo-worker.sbatch")
MAX_TRIALS = 9
KILL_WAIT = 10  # Slurm's SIGTERM -> SIGKILL on scancel


def fail_setup(msg):
    print("FAIL %s" % msg, flush=True)
    sys.exit(1)


def requirements():
    missing = [c for c in ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel",
                           "scontrol", "munged", "munge", "curl", "jq", "bash")
               if shutil.which(c) is None]
    if missing:
        fail_setup("test_slurm needs %s (bash deploy/install-deps.sh --tests installs slurm-wlm, "
                   "munge, jq, curl)" % ", ".join(missing))
    if os.geteuid() != 0:
        fail_setup("test_slurm must run as root (it starts slurmd and slurmctld, which run jobs "
                   "as their users, and makes device nodes)")
    for v in ("HPO_TEST_PG", "HPO_SERVER_BIN", "HPO_WORKER_BIN"):
        if not os.environ.get(v):
            fail_setup("%s is not set (run it through meson test, with HPO_TEST_PG set)" % v)


def proc_env(pid):
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            return dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    except OSError:
        return None


def procs_with_env(key, value):
    """Pids of the processes whose environment has key=value (bytes)."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            env = proc_env(pid)
            if env is not None and env.get(key) == value:
                out.append(int(pid))
    return out


def pgrp_members(pgid):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out.append(int(pid))
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None


def proc_state(pid):
    """The state letter of /proc/PID/stat (R, S, Z...), None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def wait_for(what, cond, timeout, step=0.2):
    """Polls cond() until it returns something true; returns it, or None after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            print("  (gave up waiting %.0f s for %s)" % (timeout, what), flush=True)
            return None
        time.sleep(step)


class Slurm:
    """munged, slurmctld and slurmd of a private single-node cluster in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hpo-slurm-")
        os.chmod(self.dir, 0o755)  # munged wants its socket's directories searchable by all
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.procs = {}
        self.logs = {}

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def run(self, *cmd, check_rc=True, timeout=30):
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check_rc and r.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                    r.stderr.strip()[-1500:]))
        return r

    def spawn(self, name, cmd):
        log = open(self.path("log", name + ".out"), "w")
        self.logs[name] = log.name
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.env)
        log.close()

    def start(self):
        for d in ("munge", "run", "state", "spool", "log", "dev"):
            os.mkdir(self.path(d), 0o700 if d == "munge" else 0o755)
        # munge: a key of its own (128 random bytes, 0600) and a socket only this cluster uses
        key = self.path("munge", "munge.key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(128))
        os.close(fd)
        self.munge_socket = self.path("run", "munge.socket")
        self.spawn("munged", ["munged", "--foreground", "--key-file=" + key,
                              "--socket=" + self.munge_socket,
                              "--pid-file=" + self.path("run", "munged.pid"),
                              "--seed-file=" + self.path("munge", "munged.seed"),
                              "--log-file=" + self.path("log", "munged.log")])
        if not wait_for("munged's socket", lambda: os.path.exists(self.munge_socket), 10):
            raise RuntimeError("munged did not start: %s" % self.tail("munged"))
        r = subprocess.run(["munge", "-S", self.munge_socket, "-n"], capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("munge -n failed: %s" % r.stderr.decode(errors="replace"))

        # the node as slurmd sees this machine (CPUs, sockets, cores, memory), three fake GPUs
        hw = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30,
                            env={k: v for k, v in os.environ.items() if k != "SLURM_CONF"})
        node_line = hw.stdout.splitlines()[0] if hw.returncode == 0 and hw.stdout else ""
        if not node_line.startswith("NodeName="):
            raise RuntimeError("slurmd -C printed no node line: %s %s" % (hw.stdout, hw.stderr))
        self.node = node_line.split()[0].split("=", 1)[1]
        for i in range(3):  # gres/gpu needs device files (file-less GPUs are dropped)
            try:
                os.mknod(self.path("dev", "gpu%d" % i), 0o600 | 0o020000, os.makedev(195, i))
            except OSError as e:
                raise RuntimeError("mknod %s: %s (the fake GPUs gres/gpu needs are character "
                                   "devices; %s must allow device nodes)"
                                   % (self.path("dev", "gpu%d" % i), e, self.dir))
        ctld_port, slurmd_port = free_port(), free_port()
        while slurmd_port == ctld_port:
            slurmd_port = free_port()
        with open(self.conf, "w") as f:
            f.write("""ClusterName=hpotest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
ReturnToService=2
KillWait={kill_wait}
GresTypes=gpu
{node_line} NodeAddr=127.0.0.1 Gres=gpu:3 State=UNKNOWN
# three 1-CPU tasks on a 2-CPU machine: cores may be shared
PartitionName=hpotest Nodes={node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
""".format(node=self.node, ctld_port=ctld_port, slurmd_port=slurmd_port, d=self.dir,
           munge=self.munge_socket, kill_wait=KILL_WAIT,
           node_line=" ".join(w for w in node_line.split() if not w.startswith("UpTime="))))
        with open(self.path("gres.conf"), "w") as f:
            f.write("NodeName=%s Name=gpu File=%s/dev/gpu[0-2]\n" % (self.node, self.dir))
        self.spawn("slurmctld", ["slurmctld", "-D", "-f", self.conf])
        self.spawn("slurmd", ["slurmd", "-D", "-f", self.conf])

        def idle():
            for name in ("slurmctld", "slurmd", "munged"):
                if self.procs[name].poll() is not None:
                    raise RuntimeError("%s exited: %s" % (name, self.tail(name)))
            r = self.run("sinfo", "-h", "-N", "-o", "%T %G", check_rc=False)
            return r.stdout.split() if r.returncode == 0 and r.stdout.startswith("idle") else None
        state = wait_for("the node to be idle", idle, 30)
        if not state:
            r = self.run("sinfo", "-N", "-o", "%N %T %E %G", check_rc=False)
            raise RuntimeError("the node is not idle: %s\n%s\n%s" % (
                r.stdout + r.stderr, self.tail("slurmctld"), self.tail("slurmd")))
        return state

    def tail(self, name, n=15):
        try:
            with open(self.logs[name]) as f:
                return "".join(f.readlines()[-n:])
        except (OSError, KeyError):
            return ""

    def squeue(self, job):
        """{array task id: state} of the job's tasks still in the queue."""
        r = self.run("squeue", "-h", "-r", "-j", str(job), "-o", "%K %T", check_rc=False)
        out = {}
        for line in r.stdout.splitlines():
            task, state = line.split()
            out[task] = state
        return out

    def job_info(self, job_task):
        r = self.run("scontrol", "-o", "show", "job", job_task, check_rc=False)
        return dict(w.split("=", 1) for w in r.stdout.split() if "=" in w)

    def stop(self):
        if os.path.exists(self.conf) and "slurmctld" in self.procs:
            # jobs first: their slurmstepd and processes outlive slurmd
            self.run("scancel", "--full", "-u", "root", check_rc=False)
            wait_for("the queue to empty",
                     lambda: self.procs["slurmctld"].poll() is not None or
                     not self.run("squeue", "-h", check_rc=False).stdout.strip(), KILL_WAIT + 10)
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # anything this cluster ran that is still there (a slurmstepd, a job's process) has the
        # cluster's SLURM_CONF in its environment
        for pid in procs_with_env(b"SLURM_CONF", self.conf.encode()):
            print("  killing leftover process %d: %s" % (pid, cmdline(pid)), flush=True)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Api:
    def __init__(self, url, token):
        self.url, self.token = url, token

    def get(self, path):
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)


OBJECTIVE = r"""#!/bin/bash
# test_slurm's objective: (x - 0.5)^2 after 3 reports. It records what it sees in obs/. In the
# main study it waits (at most 20 s) until each of the 3 array tasks has started a trial, and the
# first trial of tasks 1 and 2 runs until it is stopped (600 reports, 0.1 s apart); in the study
# "*-tl" every trial runs until it is stopped.
set -eu
dir=@DIR@
task=${SLURM_ARRAY_TASK_ID:-none}
read -r _ _ _ ppid pgid _ </proc/$$/stat
printf 'pid=%s ppid=%s pgid=%s cuda=%s job_gpus=%s\n' $$ "$ppid" "$pgid" \
    "${CUDA_VISIBLE_DEVICES-unset}" "${SLURM_JOB_GPUS-unset}" \
    >"$dir/obs/${SLURM_ARRAY_JOB_ID:-none}-$task-$HPO_TRIAL_NUMBER"
steps=3 pause=0.2
case $HPO_STUDY in
*-tl) steps=600 pause=0.1 ;;
*)
    : >"$dir/obs/started-$task"
    for _ in $(seq 200); do
        [ -e "$dir/obs/started-0" ] && [ -e "$dir/obs/started-1" ] && [ -e "$dir/obs/started-2" ] && break
        sleep 0.1
    done
    if [ "$task" != 0 ] && [ ! -e "$dir/obs/long-$task" ]; then
        : >"$dir/obs/long-$task"
        steps=600 pause=0.1
    fi ;;
esac
v=$(awk -v x="$HPO_PARAM_X" 'BEGIN { printf "%.6f", (x - 0.5) * (x - 0.5) }')
for s in $(seq 0 $((steps - 1))); do
    echo "hpo: step=$s value=$v"
    sleep $pause
done
echo "hpo: value=$v"
"""


def read_obs(path):
    with open(path) as f:
        return dict(kv.split("=", 1) for kv in f.read().split())


def task_processes(job, task):
    """Pids of the processes that belong to array task JOB_TASK (by their environment)."""
    out = []
    for p in procs_with_env(b"SLURM_ARRAY_TASK_ID", task.encode()):
        env = proc_env(p)
        if env and env.get(b"SLURM_ARRAY_JOB_ID") == job.encode():
            out.append(p)
    return out


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def test(cluster, server):
    t0 = time.monotonic()
    try:
        state = cluster.start()
    except RuntimeError as e:
        check(False, "a single-node Slurm starts", e)
        return
    v = cluster.run("slurmctld", "-V", check_rc=False).stdout.strip()
    check(True, "%s: munged, slurmctld and slurmd up, node %s idle in %.1f s"
          % (v, cluster.node, time.monotonic() - t0))
    check("gpu:3" in state, "the node has the 3 fake GPUs (gres/gpu)", state)

    url = server.start()
    api = Api(url, server.token)
    study = "slurm-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
    tl_study = study + "-tl"
    work = cluster.path("work")
    os.makedirs(os.path.join(work, "obs"))
    token_file = os.path.join(work, "worker.token")
    write_secret(token_file, server.create_token("worker", "--study-prefix", study,
                                                 "--name", "slurm"))
    objective = os.path.join(work, "objective.sh")
    with open(objective, "w") as f:
        f.write(OBJECTIVE.replace("@DIR@", work))
    os.chmod(objective, 0o755)
    config = {"direction": "minimize", "sampler": {"type": "random", "seed": 3},
              "search_space": {"x": {"type": "float", "low": -2, "high": 2}},
              "max_trials": MAX_TRIALS, "heartbeat_grace": 30,
              "retry": {"max_retries": 1, "on": ["preempted"]}}

    def config_file(name, **changes):
        path = os.path.join(work, name)
        with open(path, "w") as f:
            json.dump(dict(config, **changes), f)
        return path

    # the sbatch script refuses to start without its settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPO_", "SLURM_"))}
    r = subprocess.run(["bash", SBATCH_SCRIPT, "--", "true"], capture_output=True, text=True,
                       env=env)
    check(r.returncode == 2 and "HPO_SERVER is not set" in r.stderr,
          "hpo-worker.sbatch without HPO_SERVER exits 2 saying so", (r.returncode, r.stderr))
    r = subprocess.run(["bash", SBATCH_SCRIPT, "--", "true"], capture_output=True, text=True,
                       env=dict(env, HPO_SERVER=url, HPO_STUDY=study, HPO_TOKEN_FILE=token_file,
                                HPO_TOKEN="x"))
    check(r.returncode == 2 and "HPO_TOKEN is set" in r.stderr,
          "hpo-worker.sbatch refuses a token in the environment", (r.returncode, r.stderr))

    def submit(name, cfg, *args):
        return subprocess.run(["bash", SUBMIT, "--server", url, "--study", name, "--config", cfg,
                               "--admin-token-file", server.token_file, *args],
                              capture_output=True, text=True, cwd=work, env=cluster.env,
                              timeout=60)

    def submit_array(name, cfg, tasks, gpus, time_limit):
        r = submit(name, cfg, "--worker-token-file", token_file, "--tasks", str(tasks),
                   "--gpus-per-task", str(gpus), "--time", time_limit,
                   "--worker-bin", os.environ["HPO_WORKER_BIN"],
                   "--output", os.path.join(work, "slurm-%A_%a.out"), "--", objective)
        job = r.stdout.strip()
        ok = check(r.returncode == 0 and job.isdigit(), "submit.sh creates study %s and prints "
                   "the array's job id" % name, (r.returncode, r.stdout, r.stderr[-1500:]))
        return job if ok else None

    # the main array: 3 workers, one fake GPU each; then one task without GPUs whose time limit
    # (1 minute) is already within the script's --signal=B:TERM@120: slurmctld sends the warning
    # at its next time-limit check (every 30 s)
    job = submit_array(study, config_file("study.json"), 3, 1, "10")
    if not job:
        return
    t_submit = time.monotonic()
    tl_job = submit_array(tl_study, config_file("study-tl.json", max_trials=1), 1, 0, "1")
    if not tl_job:
        return
    s = api.get("/api/v1/studies/" + study)
    check(s["max_trials"] == MAX_TRIALS and s["retry"]["on"] == ["preempted"]
          and s["sampler"]["type"] == "random", "the study has the config's settings",
          {k: s.get(k) for k in ("max_trials", "retry", "sampler")})

    # the same config again: accepted as it is; another max_trials: refused, naming it
    r = submit(study, config_file("study.json"), "--create-only")
    check(r.returncode == 0 and "exists with the same config" in r.stderr,
          "submit.sh accepts the existing study with the same config", (r.returncode, r.stderr))
    r = submit(study, config_file("other.json", max_trials=MAX_TRIALS + 1), "--create-only")
    check(r.returncode == 1 and "max_trials" in r.stderr and "another config" in r.stderr,
          "submit.sh refuses the existing study with another max_trials", (r.returncode, r.stderr))

    # the 3 tasks run; tasks 1 and 2 each have their long trial running
    def three_running():
        q = cluster.squeue(job)
        return q if sorted(q) == ["0", "1", "2"] and set(q.values()) == {"RUNNING"} else None
    check(wait_for("3 running tasks", three_running, 30), "squeue shows the 3 array tasks running",
          cluster.squeue(job))

    def long_running():
        trials = api.get("/api/v1/studies/%s/trials?state=running&limit=100" % study)["trials"]
        by_worker = {t["worker"]: t for t in trials}
        out = {}
        for task in ("1", "2"):
            t = by_worker.get("slurm-%s_%s" % (job, task))
            if t is None or not os.path.exists(os.path.join(work, "obs", "long-" + task)):
                return None
            obs = os.path.join(work, "obs", "%s-%s-%d" % (job, task, t["number"]))
            if not os.path.exists(obs) or len(t["intermediate_values"]) < 2:
                return None
            out[task] = read_obs(obs)
            out[task]["trial"] = t
        return out
    victims = wait_for("tasks 1 and 2 to be mid-trial", long_running, 40)
    if not check(victims, "tasks 1 and 2 each have a trial running, its reports arriving"):
        return
    for task in ("1", "2"):
        wpid = int(victims[task]["ppid"])
        line = cmdline(wpid) or ""
        try:
            with open("/proc/%d/stat" % wpid) as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            parent = 0
        check(line.startswith(os.environ["HPO_WORKER_BIN"]) and comm(parent) == "slurmstepd",
              "task %s: the batch shell became hpo-worker (exec: its parent is slurmstepd)"
              % task, (line, comm(parent)))
        check(" --worker-id slurm-%s_%s " % (job, task) in line and " --requeue-on-exit " in line
              and " --gpus %s " % victims[task]["job_gpus"] in line and "hpo_" not in line,
              "task %s: the worker's flags (worker id, --requeue-on-exit, --gpus from Slurm; no "
              "token)" % task, line)

    # task 1: SIGTERM to the batch shell only (as the time-limit warning sends it); task 2:
    # scancel (SIGTERM to all its processes, SIGKILL after KillWait)
    t_cancel = time.monotonic()
    cluster.run("scancel", "--batch", "--signal=TERM", "%s_1" % job)
    cluster.run("scancel", "%s_2" % job)
    gone = wait_for("tasks 1 and 2 to leave the queue",
                    lambda: not ({"1", "2"} & set(cluster.squeue(job))), KILL_WAIT + 15)
    check(gone, "squeue: tasks 1 and 2 are gone %.1f s after the signals"
          % (time.monotonic() - t_cancel), cluster.squeue(job))
    for task in ("1", "2"):
        wpid, cpid, pgid = (int(victims[task][k]) for k in ("ppid", "pid", "pgid"))

        def live():  # a process being torn down may linger a moment; zombies do not count
            return [p for p in sorted(set(task_processes(job, task) + pgrp_members(pgid) +
                                          [wpid, cpid])) if proc_state(p) not in (None, "Z")]
        left = live()
        if left:
            print("  (task %s: still there: %s)" % (task, [(p, proc_state(p), comm(p))
                                                          for p in left]), flush=True)
            wait_for("task %s's processes to end" % task, lambda: not live(), 5)
            left = live()
        check(not left,
              "task %s: no process left (worker %d, command %d and its group, any process with "
              "the task's SLURM_ARRAY_*)" % (task, wpid, cpid),
              [(p, proc_state(p), comm(p), cmdline(p)) for p in left])

    # the study completes: task 0 runs the two retries and the rest, then exits
    def complete():
        st = api.get("/api/v1/studies/" + study)
        c = st["counts"]
        return st if c["complete"] >= MAX_TRIALS and c["running"] == 0 and c["waiting"] == 0 \
            else None
    check(wait_for("the study to complete", complete, 60),
          "the study completes (%d complete)" % MAX_TRIALS,
          api.get("/api/v1/studies/" + study)["counts"])
    check(wait_for("task 0 to leave the queue", lambda: not cluster.squeue(job), 20),
          "task 0's worker exited on study_complete", cluster.squeue(job))
    print("  study done %.1f s after the submission" % (time.monotonic() - t_submit), flush=True)

    trials = api.get("/api/v1/studies/%s/trials?limit=1000" % study)["trials"]
    by_number = {t["number"]: t for t in trials}
    st = api.get("/api/v1/studies/" + study)
    c = st["counts"]
    check(c["complete"] == MAX_TRIALS and c["fail"] == 2 and st.get("n_retries") == 2 and
          st["n_trials"] == MAX_TRIALS + 2,
          "%d complete, the 2 handed-back trials failed and were retried" % MAX_TRIALS,
          {"counts": c, "n_trials": st["n_trials"], "n_retries": st.get("n_retries")})
    workers = {t["worker"] for t in trials}
    check(workers == {"slurm-%s_%d" % (job, i) for i in range(3)},
          "trials came from every array task (worker slurm-JOB_TASK)", sorted(map(str, workers)))
    for task in ("1", "2"):
        t = by_number[victims[task]["trial"]["number"]]
        retry = by_number.get(t.get("retried_by"))
        check(t["state"] == "fail" and t.get("preempted") is True and
              t.get("fail_reason") == "preempted",
              "task %s: its trial %d was handed back (fail, preempted)" % (task, t["number"]),
              {k: t.get(k) for k in ("state", "preempted", "fail_reason", "retried_by")})
        check(retry is not None and retry.get("retry_of") == t["number"] and
              retry["params"] == t["params"] and retry["state"] == "complete" and
              retry["worker"] == "slurm-%s_0" % job,
              "task %s: its trial was run again by task 0 with the same params and completed"
              % task, retry and {k: retry.get(k) for k in ("number", "retry_of", "state",
                                                           "worker", "params")})

    # GPUs: each trial saw its task's GPU (CUDA_VISIBLE_DEVICES from hpo-worker --gpus, from
    # Slurm's allocation), and the 3 tasks had 3 different GPUs
    seen, same = {}, True
    for name in os.listdir(os.path.join(work, "obs")):
        parts = name.split("-")
        if len(parts) != 3 or parts[0] != job:
            continue
        o = read_obs(os.path.join(work, "obs", name))
        same = same and o["cuda"] == o["job_gpus"]
        seen.setdefault(parts[1], set()).add(o["cuda"])
    check(same and sorted(seen) == ["0", "1", "2"] and all(len(g) == 1 for g in seen.values())
          and sorted(min(g) for g in seen.values()) == ["0", "1", "2"],
          "each trial's CUDA_VISIBLE_DEVICES is its task's Slurm GPU; tasks 0-2 had GPUs 0-2",
          {k: sorted(g) for k, g in seen.items()})

    # how each task ended, and what its worker said
    states = {t: cluster.job_info("%s_%s" % (job, t)) for t in ("0", "1", "2")}
    ends = {t: (i.get("JobState"), i.get("ExitCode")) for t, i in states.items()}
    check(ends["0"] == ends["1"] == ("COMPLETED", "0:0") and ends["2"][0] == "CANCELLED",
          "tasks 0 and 1 (its worker handed back and exited 0) completed, task 2 was cancelled",
          ends)
    for task in ("1", "2"):
        n = victims[task]["trial"]["number"]
        want = "trial %s/%d: preempted; the server retries it as trial %s" % (
            study, n, by_number[n].get("retried_by"))
        out = read_text(os.path.join(work, "slurm-%s_%s.out" % (job, task)))
        check(want in out, "task %s's log: %s" % (task, want), out[-1500:])

    # the time limit: the warning (SIGTERM at the next check) hands the running trial back
    def tl_done():
        return not cluster.squeue(tl_job) and cluster.job_info(tl_job + "_0")
    info = wait_for("the time-limited task to end", tl_done, 45)
    tl = api.get("/api/v1/studies/%s/trials?limit=100" % tl_study)["trials"]
    first = next((t for t in tl if t["number"] == 0), {})
    retry = next((t for t in tl if t.get("retry_of") == 0), {})
    check(info and info.get("JobState") == "COMPLETED" and info.get("ExitCode") == "0:0" and
          run_seconds(info.get("RunTime", "")) < 60,
          "the task with a 1-minute limit got the warning SIGTERM before it and its worker "
          "exited 0", info and {k: info.get(k) for k in ("JobState", "ExitCode", "RunTime")})
    check(first.get("state") == "fail" and first.get("preempted") is True and
          retry.get("state") == "waiting" and retry.get("params") == first.get("params") and
          first.get("worker") == "slurm-%s_0" % tl_job,
          "its trial was handed back (fail, preempted) and waits as a retry",
          [{k: t.get(k) for k in ("number", "state", "preempted", "retry_of", "worker")}
           for t in tl])
    want = "trial %s/0: preempted; the server retries it as trial %s" % (
        tl_study, retry.get("number"))
    out = read_text(os.path.join(work, "slurm-%s_0.out" % tl_job))
    check(want in out, "its log: %s" % want, out[-1500:])
    print("  %.1f s from the start to the end of the jobs" % (time.monotonic() - t0), flush=True)


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError as e:
        return str(e)


def run_seconds(text):
    """Slurm's [D-]HH:MM:SS (or MM:SS) in seconds; a large number when unreadable."""
    try:
        days, _, hms = text.rpartition("-")
        secs = 0
        for part in hms.split(":"):
            secs = secs * 60 + int(part)
        return secs + int(days or 0) * 86400
    except ValueError:
        return 1 << 30


def main():
    requirements()
    t0 = time.monotonic()

    def on_term(signum, frame):
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, on_term)
    cluster = Slurm()
    server = TestServer(os.environ["HPO_SERVER_BIN"], os.environ["HPO_TEST_PG"], "slurm")
    try:
        test(cluster, server)
    except Exception as e:  # a check that cannot be made: say why, then clean up
        traceback.print_exc()
        check(False, "the test ran to its end", "%s: %s" % (type(e).__name__, e))
    finally:
        try:
            cluster.stop()  # first: the jobs' workers hand their trials back to a live server
        finally:
            server.stop()
            print("  %.1f s in all" % (time.monotonic() - t0), flush=True)
    finish(" (slurm)")


if __name__ == "__main__":
    main()
