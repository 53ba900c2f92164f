# dashboard_updates.py: what the dashboard of a large study costs the server once the page has
# loaded: the incremental update and the push of a change to a waiting page. Run by
# dashboard_scale.sh against a running hpo-server (token in HPO_TOKEN).
"""Usage: dashboard_updates.py URL STUDY COUNT

Opens one trial (ask) on STUDY, then COUNT times:
  - incremental: reports one intermediate value on it, then times
    GET .../columns?since=<version> (what a page that polls asks for after a change);
  - push: a long poll (GET .../columns?since=<version>&wait=25) waits on a second connection
    while the main one reports; times from sending the report to the long poll's answer.
The trial is finished `fail` at the end (the study's complete trials stay as they were). Prints
JSON: p50/p99/max of both, bytes of an incremental answer, the trials it carried."""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def pct(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


class Conn:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.h = {"Authorization": "Bearer " + os.environ["HPO_TOKEN"],
                  "Content-Type": "application/json"}

    def call(self, method, path, body=None):
        self.c.request(method, path, json.dumps(body) if body is not None else None, self.h)
        r = self.c.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"dashboard_updates.py: {method} {path}: {r.status} {data[:300]!r}")
        return data


def main():
    url, study, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    base = "/api/v1/studies/" + urllib.parse.quote(study, safe="")
    main_c, poll_c = Conn(url), Conn(url)
    trial = json.loads(main_c.call("POST", base + "/trials", {}))["number"]
    report = f"{base}/trials/{trial}/reports"
    version = json.loads(main_c.call("GET", base + "/columns?intermediate=false"))["version"]

    def since(v, wait=0):
        q = "?since=" + urllib.parse.quote(v) + (f"&wait={wait}" if wait else "")
        return base + "/columns" + q

    inc_ms, push_ms, sizes, carried = [], [], [], []
    step = 0
    for _ in range(count):
        # incremental: one change, then the answer with only what changed
        main_c.call("POST", report, {"step": step, "value": 1.0 / (step + 1)})
        step += 1
        t0 = time.perf_counter()
        data = main_c.call("GET", since(version))
        inc_ms.append((time.perf_counter() - t0) * 1000)
        r = json.loads(data)
        sizes.append(len(data))
        carried.append(len(r["trials"]["number"]))
        version = r["version"]

        # push: a waiting long poll answered by the next change
        got = {}

        def poll(v=version):
            data = poll_c.call("GET", since(v, 25))
            got["t"] = time.perf_counter()
            got["r"] = json.loads(data)

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(0.02)  # the poll is waiting on the server by then
        t0 = time.perf_counter()
        main_c.call("POST", report, {"step": step, "value": 1.0 / (step + 1)})
        step += 1
        th.join()
        push_ms.append((got["t"] - t0) * 1000)
        version = got["r"]["version"]
        if trial not in got["r"]["trials"]["number"]:
            sys.exit("dashboard_updates.py: the pushed answer does not carry the trial")

    main_c.call("POST", f"{base}/trials/{trial}/finish", {"state": "fail"})
    print(json.dumps({
        "count": count,
        "inc_p50_ms": pct(inc_ms, 0.5), "inc_p99_ms": pct(inc_ms, 0.99), "inc_max_ms": max(inc_ms),
        "inc_bytes": pct(sizes, 0.5), "inc_trials_max": max(carried),
        "push_p50_ms": pct(push_ms, 0.5), "push_p99_ms": pct(push_ms, 0.99),
        "push_max_ms": max(push_ms),
    }))


if __name__ == "__main__":
    main()
