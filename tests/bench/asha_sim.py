# asha_sim.py: many simulated workers against hpo-server, under ASHA promotion and under
# Optuna-style successive halving (trials stopped at rungs, never resumed). Run by asha_sim.sh.
"""Usage: asha_sim.py URL PRUNER WORKERS SEED   (PRUNER: asha | sha; token in HPO_TOKEN)

A configuration x in [0, 1]^3 has a hidden learning curve
    loss(t) = a(x) + b(x) * t^-0.7,  a(x) = 1 + 10 * |x - (0.3, 0.7, 0.5)|^2,
b(x) in [0.3, 1.8] from a hash of x (so early losses rank configurations only roughly). A full
training is R = 81 epochs; rungs at 1, 3, 9, 27, 81 (reduction factor 3).

The workers train in simulated time: a discrete-event loop over WORKERS workers (each with its
own keep-alive connection) takes the worker whose current work ends first, makes its calls to
the server (report, finish, ask) and schedules its next work (an epoch is one unit). The server
sees the requests in exactly the order a real cluster of that size would send them, so its
decisions are the same, while 500 workers cost no more wall time than the server's answers; a
real-time run on this 2-core machine would measure the machine, not ASHA. Under ASHA a worker
trains from the ask's resource.from to resource.to and reports there (pause: ask again; at 81:
finish complete); under successive halving it trains a trial from 0, reports at each rung, stops
when pruned and finishes complete at 81. A 204 (no work now) makes it wait a tenth of an epoch.

The run stops when a trial trained to 81 epochs has a(x) within 1 % of the best a (1), or after
LIMIT_FULL full trainings of simulated time (default 20). Prints JSON: the simulated time to
that trial in full trainings, trials asked, epochs trained, requests, wall seconds."""

import hashlib
import heapq
import http.client
import json
import os
import sys
import time
import urllib.parse

R = 81
RUNGS = [1, 3, 9, 27, 81]
LIMIT_FULL = float(os.environ.get("LIMIT_FULL", "20"))
BEST = (0.3, 0.7, 0.5)


def asymptote(x):
    return 1 + 10 * sum((a - b) ** 2 for a, b in zip(x, BEST))


def loss(x, t):
    h = hashlib.sha256(",".join("%.17g" % v for v in x).encode()).digest()
    b = 0.3 + 1.5 * int.from_bytes(h[:4], "big") / 2 ** 32
    return asymptote(x) + b * t ** -0.7


class Sim:
    def __init__(self, url, pruner, workers, seed):
        self.url, self.pruner, self.n_workers, self.seed = url, pruner, workers, seed
        self.study = "sim-%s-%d-%d" % (pruner, workers, seed)
        u = urllib.parse.urlparse(url)
        self.addr = (u.hostname, u.port)
        self.conns = {}
        self.requests = self.asks = self.epochs = 0
        self.headers = {"Authorization": "Bearer " + os.environ["HPO_TOKEN"],
                        "Content-Type": "application/json"}

    def call(self, w, method, path, body=None, ok=(200, 201, 204)):
        c = self.conns.get(w)
        if c is None:
            c = self.conns[w] = http.client.HTTPConnection(*self.addr, timeout=60)
        c.request(method, path, json.dumps(body) if body is not None else None, self.headers)
        r = c.getresponse()
        data = r.read()
        self.requests += 1
        if r.status not in ok:
            sys.exit("asha_sim.py: %s %s: %d %s" % (method, path, r.status, data[:300]))
        return r.status, json.loads(data) if data else None

    def trial_call(self, w, n, what, body):
        return self.call(w, "POST", "/api/v1/studies/%s/trials/%d/%s" % (self.study, n, what), body)[1]

    def ask(self, w, now):
        """Worker w asks at time now; returns (time its work ends, the work) to schedule."""
        st, t = self.call(w, "POST", "/api/v1/studies/%s/trials" % self.study,
                          {"worker": "sim-%d" % w})
        if st == 204:
            return now + 0.1, None
        self.asks += 1
        x = tuple(t["params"]["x%d" % i] for i in range(3))
        start = t["resource"]["from"] if self.pruner == "asha" else 0
        end = t["resource"]["to"] if self.pruner == "asha" else RUNGS[0]
        self.epochs += end - start
        return now + (end - start), {"n": t["number"], "x": x, "at": end}

    def step(self, w, now, work):
        """Worker w's work ends at time now: report, finish or go on. Returns the next event and
        whether a near-best trial was trained in full."""
        if work is None:
            return self.ask(w, now), False
        n, x, at = work["n"], work["x"], work["at"]
        action = self.trial_call(w, n, "reports", {"step": at, "value": loss(x, at)})["action"]
        if action == "prune":
            self.trial_call(w, n, "finish", {"state": "pruned"})
            return self.ask(w, now), False
        if action == "pause":
            return self.ask(w, now), False
        if at < R and self.pruner == "sha":  # successive halving: on to the next rung
            nxt = RUNGS[RUNGS.index(at) + 1]
            self.epochs += nxt - at
            return (now + (nxt - at), dict(work, at=nxt)), False
        self.trial_call(w, n, "finish", {"state": "complete", "value": loss(x, R)})
        return self.ask(w, now), asymptote(x) <= 1.01

    def run(self):
        pruner = ({"type": "asha", "min_resource": 1, "reduction_factor": 3, "max_resource": R}
                  if self.pruner == "asha" else
                  {"type": "successive_halving", "min_resource": 1, "reduction_factor": 3})
        self.call(-1, "POST", "/api/v1/studies", {
            "name": self.study, "direction": "minimize",
            "sampler": {"type": "random", "seed": self.seed}, "pruner": pruner,
            "search_space": {"x%d" % i: {"type": "float", "low": 0, "high": 1} for i in range(3)}},
            ok=(201,))
        wall0 = time.monotonic()
        events = []  # (time the work ends, worker, tie-breaker, work)
        seq = 0
        for w in range(self.n_workers):
            (t, work) = self.ask(w, 0.0)
            heapq.heappush(events, (t, w, seq, work))
            seq += 1
        found = None
        while events:
            now, w, _, work = heapq.heappop(events)
            if now > LIMIT_FULL * R:
                break
            (t, nxt), near_best = self.step(w, now, work)
            if near_best:
                found = now
                break
            seq += 1
            heapq.heappush(events, (t, w, seq, nxt))
        for c in self.conns.values():
            c.close()
        return {"pruner": self.pruner, "workers": self.n_workers, "seed": self.seed,
                "found_full": None if found is None else found / R, "asks": self.asks,
                "epochs": self.epochs, "requests": self.requests,
                "wall_s": time.monotonic() - wall0}


def main():
    url, pruner, workers, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(Sim(url, pruner, workers, seed).run()))


if __name__ == "__main__":
    main()
