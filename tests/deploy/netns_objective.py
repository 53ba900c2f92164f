# netns_objective.py: the training command of test_netns.py. A quadratic in x and y, reached in
# STEPS steps of SLEEP seconds each: prints `hpo: step=S value=V` per step and a final
# `hpo: value=V`, and after each line it printed (written into the worker's pipe and flushed) it
# appends one JSON record to LOG: {"trial", "step", "value", "t"} for a report, with "final": true
# for the final value, so the test can compare what the worker was given with what the server
# holds. A line it could not print (the worker gone: a broken pipe) is not recorded. With
# FIRST_STEPS, the first trial run with this LOG (none recorded in it yet) takes that many steps.
"""Usage: netns_objective.py LOG X Y STEPS SLEEP [FIRST_STEPS]"""

import json
import os
import sys
import time


def main():
    log, x, y, steps, pause = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), \
        int(sys.argv[4]), float(sys.argv[5])
    trial = int(os.environ["HPO_TRIAL_NUMBER"])
    if len(sys.argv) > 6 and not (os.path.exists(log) and os.path.getsize(log) > 0):
        steps = int(sys.argv[6])
    target = (x - 0.3) ** 2 + (y - 0.7) ** 2

    def say(line, record):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        record["trial"], record["t"] = trial, time.time()
        with open(log, "a") as f:  # one short write per record: whole lines even when shared
            f.write(json.dumps(record) + "\n")

    for step in range(steps):
        time.sleep(pause)
        value = target + 1.0 / (step + 1)
        say("hpo: step=%d value=%r" % (step, value), {"step": step, "value": value})
    say("hpo: value=%r" % target, {"final": True, "value": target})


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(141)
