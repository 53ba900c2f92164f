# seed_hpo.py: the seed's experiment (seed_objective.py) run through a real hpo-server, one sequential worker, standard-library HTTP.
#
#   python3 tests/bench/seed_hpo.py --server http://127.0.0.1:PORT --pruners none,median,sh,asha \
#       --seeds 0,1,2 [--trials 40]
#
# For every (pruner, seed): creates a study (maximize, sampler {"type":"tpe","seed":seed}, the pruner,
# max_trials = trials), then asks, trains epoch by epoch reporting each epoch's validation accuracy
# (step = epochs trained so far, 1..20), and acts on the answer: "prune" -> finish pruned; "pause"
# (ASHA) -> keep the model pickled in a dict keyed by trial number and ask again; a trial handed out
# with resource.from > 0 resumes from that checkpoint and trains epochs from+1..; at 20 epochs it
# finishes complete with the last accuracy; 204 -> wait Retry-After; 409 study_complete -> done.
# Prints one JSON line per run: best value (GET /best), epochs trained, wall seconds, counts, and
# "anomalies" (answers that contradict the API; empty when all is well). The token: env HPO_TOKEN, or
# the first line of the file HPO_TOKEN_FILE.
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

import seed_objective as obj

PRUNERS = {
    "none": {"type": "none"},
    "median": {"type": "median", "n_startup_trials": 2, "n_warmup_steps": 5, "interval_steps": 3},
    "sh": {"type": "successive_halving"},
    "asha": {"type": "asha", "min_resource": 1, "max_resource": obj.EPOCHS, "reduction_factor": 3},
}


def token():
    """The bearer token from the environment (None: none), as the hpo clients read it."""
    tok, path = os.environ.get("HPO_TOKEN") or None, os.environ.get("HPO_TOKEN_FILE") or None
    if tok and path:
        sys.exit("seed_hpo.py: HPO_TOKEN and HPO_TOKEN_FILE are both set: set one of them")
    if path:
        with open(path, encoding="utf-8") as f:
            tok = f.readline()
    return tok.strip() if tok else None


class Http:
    def __init__(self, base):
        self.base = base.rstrip("/") + "/api/v1"
        self.requests = 0
        self.seconds = 0.0  # time spent in HTTP calls
        tok = token()
        self.auth = {"Authorization": "Bearer " + tok} if tok else {}

    def call(self, method, path, body=None):
        """Returns (status, headers, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=self.auth)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        self.requests += 1
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        finally:
            self.seconds += time.perf_counter() - t0
        doc = json.loads(raw) if raw else None
        return status, headers, doc


class Run:
    def __init__(self, http, pruner, seed, trials):
        self.http, self.pruner, self.seed, self.trials = http, pruner, seed, trials
        self.name = f"seed-{pruner}-s{seed}-{int(time.time() * 1000)}"
        self.anomalies = []
        self.epochs = 0
        self.checkpoints = {}  # trial number -> pickled model (with its RNG) and epochs trained
        self.promotions = 0
        self.waits = 0
        self.resources = set()  # (from, to) pairs handed out under ASHA

    def anomaly(self, msg):
        if len(self.anomalies) < 20:
            self.anomalies.append(msg)
        print(f"seed_hpo: {self.name}: {msg}", file=sys.stderr)

    def expect(self, what, status, doc, want):
        if status != want:
            raise RuntimeError(f"{what}: HTTP {status} (expected {want}): {json.dumps(doc)}")

    def create(self):
        body = {"name": self.name, "direction": "maximize",
                "sampler": {"type": "tpe", "seed": self.seed}, "pruner": PRUNERS[self.pruner],
                "search_space": obj.SEARCH_SPACE, "max_trials": self.trials}
        st, _, doc = self.http.call("POST", "/studies", body)
        self.expect("create study", st, doc, 201)

    def report(self, number, step, value):
        st, _, doc = self.http.call("POST", f"/studies/{self.name}/trials/{number}/reports",
                                    {"step": step, "value": value})
        self.expect(f"report trial {number} step {step}", st, doc, 200)
        action = doc.get("action")
        if action not in ("continue", "prune", "pause"):
            self.anomaly(f"report trial {number} step {step}: unknown action {action!r}")
        if action == "pause" and self.pruner != "asha":
            self.anomaly(f"report trial {number} step {step}: pause under pruner {self.pruner}")
        return action

    def finish(self, number, body):
        st, _, doc = self.http.call("POST", f"/studies/{self.name}/trials/{number}/finish", body)
        self.expect(f"finish trial {number} {body}", st, doc, 200)

    def run_trial(self, t):
        number, params = t["number"], t["params"]
        res, resume = t.get("resource"), t.get("resume")
        start = 0
        if self.pruner == "asha":
            if not isinstance(res, dict) or "from" not in res or "to" not in res:
                self.anomaly(f"ask: trial {number} under ASHA without resource: {json.dumps(t)}")
                res = {"from": 0, "to": obj.EPOCHS}
            start = res["from"]
            self.resources.add((res["from"], res["to"]))
            if (start > 0) != (resume == f"checkpoint-{start}"):
                self.anomaly(f"ask: trial {number} resource {res} with resume {resume!r}")
            if not 0 <= start < res["to"] <= obj.EPOCHS:
                self.anomaly(f"ask: trial {number} resource {res} out of 0..{obj.EPOCHS}")
        elif res is not None or resume is not None:
            self.anomaly(f"ask: trial {number} has resource/resume under pruner {self.pruner}")
        if start > 0:
            ck = self.checkpoints.pop(number, None)
            if ck is None:
                self.anomaly(f"ask: trial {number} promoted from {start} but it was never paused here")
                self.finish(number, {"state": "fail", "reason": "no checkpoint"})
                return
            blob, trained = ck
            if trained != start:
                self.anomaly(f"ask: trial {number} resumes from {start}, its checkpoint has {trained} epochs")
            model = obj.restore(blob)
            start = trained
            self.promotions += 1
        else:
            if number in self.checkpoints:
                self.anomaly(f"ask: trial {number} handed out again from 0 while paused at "
                             f"{self.checkpoints[number][1]}")
                self.checkpoints.pop(number)
            model = obj.new_model(params, self.seed)
        to = res["to"] if self.pruner == "asha" else obj.EPOCHS
        acc = None
        for epoch in range(start + 1, obj.EPOCHS + 1):
            acc = obj.train_epoch(model)
            self.epochs += 1
            action = self.report(number, epoch, acc)
            if action == "prune":
                self.finish(number, {"state": "pruned"})
                return
            if action == "pause":
                if epoch != to:
                    self.anomaly(f"trial {number}: paused at epoch {epoch}, resource.to was {to}")
                self.checkpoints[number] = (obj.checkpoint(model), epoch)
                return
            if self.pruner == "asha" and epoch == to and to < obj.EPOCHS:
                self.anomaly(f"trial {number}: reached resource.to {to} and was told to continue")
        self.finish(number, {"state": "complete", "value": acc})

    def run(self):
        self.create()
        t0 = time.perf_counter()
        asks = 0
        while True:
            st, headers, doc = self.http.call("POST", f"/studies/{self.name}/trials",
                                              {"worker": "seed-hpo"})
            asks += 1
            if st == 201:
                self.run_trial(doc)
            elif st == 204:
                self.waits += 1
                if self.waits > 50:
                    raise RuntimeError("204 no work, over and over, with one sequential worker")
                self.anomaly("ask: 204 no work with one sequential worker and nothing running")
                time.sleep(float(headers.get("Retry-After") or 1))
            elif st == 409 and (doc or {}).get("error", {}).get("code") == "study_complete":
                break
            else:
                raise RuntimeError(f"ask: HTTP {st}: {json.dumps(doc)}")
            if asks > 20 * self.trials:
                raise RuntimeError("too many asks")
        wall = time.perf_counter() - t0
        http_s = self.http.seconds
        st, _, best = self.http.call("GET", f"/studies/{self.name}/best")
        self.expect("best", st, best, 200)
        st, _, study = self.http.call("GET", f"/studies/{self.name}")
        self.expect("study", st, study, 200)
        counts = study.get("counts", {})
        if study.get("n_trials") != self.trials:
            self.anomaly(f"study has {study.get('n_trials')} trials, max_trials {self.trials}")
        if counts.get("running") or counts.get("waiting"):
            self.anomaly(f"study finished with counts {counts}")
        st, _, page = self.http.call("GET", f"/studies/{self.name}/trials?limit=1000")
        self.expect("list trials", st, page, 200)
        trials = sorted(page.get("trials", []), key=lambda t: t["number"])
        # paused trials the server never promoted: it should have left them PRUNED at the end
        left = [t["number"] for t in trials
                if t["number"] in self.checkpoints and t["state"] != "pruned"]
        if left:
            self.anomaly(f"paused trials not pruned after study_complete: {left}")
        done = [t["value"] for t in trials if t["state"] == "complete"]
        if done and best.get("value") != max(done):
            self.anomaly(f"GET /best value {best.get('value')} but the best complete trial has {max(done)}")
        reported = sum(len(t["intermediate_values"]) for t in trials)
        if reported != self.epochs:
            self.anomaly(f"{self.epochs} epochs reported, the trials hold {reported} intermediate values")
        return {"side": "hpo", "pruner": self.pruner, "seed": self.seed, "trials": self.trials,
                "best": best.get("value"), "best_params": best.get("params"),
                "epochs": self.epochs, "wall_s": round(wall, 3), "counts": counts,
                "promotions": self.promotions,
                "resources": sorted(self.resources), "left_paused": len(self.checkpoints),
                "requests": self.http.requests,
                "history": [{"number": t["number"], "state": t["state"], "value": t.get("value"),
                             "iv": [[r["step"], r["value"]] for r in t["intermediate_values"]]}
                            for t in trials], "http_s": round(http_s, 3), "anomalies": self.anomalies}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--pruners", default="none,median,sh,asha")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--trials", type=int, default=40)
    a = ap.parse_args()
    for seed in [int(s) for s in a.seeds.split(",")]:
        for p in a.pruners.split(","):
            http = Http(a.server)
            r = Run(http, p, seed, a.trials).run()
            print(json.dumps(r), flush=True)
            print(f"seed_hpo: {p} seed {seed}: best {r['best']} epochs {r['epochs']} "
                  f"wall {r['wall_s']} s counts {r['counts']}", file=sys.stderr)


if __name__ == "__main__":
    main()
