#!/usr/bin/env bash
# seed_experiment.sh: the seed article's experiment offline — hpo-server and Optuna 3.1 side by side on the same learning task, in one run.
#
#   bash tests/bench/seed_experiment.sh
#
# The task (tests/bench/seed_objective.py): scikit-learn's digits set, a fixed 80/20 split, an
# MLPClassifier trained one epoch at a time (partial_fit) for up to 20 epochs, params `model`
# (3 networks), `optimizer` (SGD/Adam), log `learning_rate` in [1e-4, 1e-2], validation accuracy
# reported every epoch (maximize); 40 trials per study, one sequential worker, TPE seeded.
# hpo (tests/bench/seed_hpo.py, standard-library HTTP against hpo-server on a private PostgreSQL):
# pruners none, median(2, 5, 3), successive halving (defaults) and ASHA promotion (min 1, max 20,
# eta 3, paused models kept as pickled checkpoints and resumed on promotion). Optuna
# (tests/bench/seed_optuna.py, in-memory): NopPruner, MedianPruner(2, 5, 3), SuccessiveHalvingPruner().
# Each configuration runs once per seed; the table shows medians over the seeds. It is printed and
# written into the seed section of tests/bench/RESULTS.md (between <!-- seed:begin --> and
# <!-- seed:end -->; the rest of the file is left as it is).
#
# Builds hpo into build-bench/ if needed, starts PostgreSQL (deploy/pg.sh) in a temporary directory
# on a free port and hpo-server on 127.0.0.1 port 0; everything it started is stopped on exit,
# whatever happened. Installs python3-sklearn and python3-optuna with apt-get when missing.
# Environment: SEEDS (default 0,1,2), TRIALS (40), NO_RESULTS=1 to leave RESULTS.md alone,
# HPO_SERVER=PATH to use an hpo-server binary as it is instead of building build-bench/,
# RAW_OUT=FILE.jsonl to keep every run's JSON line (with the hpo trials' histories) and the replay's.
# Must run as root on Debian 12 (or as a user who can run deploy/pg.sh, with the packages there).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BENCH=$ROOT/tests/bench
BUILD=$ROOT/build-bench
SEEDS=${SEEDS:-0,1,2}
TRIALS=${TRIALS:-40}
NO_RESULTS=${NO_RESULTS:-0}
PY=/usr/bin/python3
# One BLAS thread: the runs are sequential, and results do not depend on the thread count.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYTHONPATH=$BENCH${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1

log() { echo "seed_experiment: $*" >&2; }
die() { log "$*"; exit 1; }

TMP=""
SERVER_PID=""
CHILD_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
        kill -TERM -- "-$CHILD_PID" 2>/dev/null || true
        sleep 0.5
        kill -KILL -- "-$CHILD_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$TMP" ]]; then
        "$ROOT/deploy/pg.sh" stop "$TMP/pg" >/dev/null 2>&1 || true
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- prerequisites -----------------------------------------------------------------------------
missing=()
"$PY" -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
"$PY" -c 'import optuna' 2>/dev/null || missing+=(python3-optuna)
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "${missing[*]} missing (apt-get install them)"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 || {
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
    }
fi
command -v psql >/dev/null || die "psql not found (install postgresql-client)"
OPTUNA_VERSION=$("$PY" -c 'import optuna; print(optuna.__version__)')
SKLEARN_VERSION=$("$PY" -c 'import sklearn; print(sklearn.__version__)')

# --- build -------------------------------------------------------------------------------------
if [[ -n "${HPO_SERVER:-}" ]]; then
    SERVER=$HPO_SERVER
    log "using $SERVER as it is (HPO_SERVER set; no build)"
else
    if [[ ! -f "$BUILD/build.ninja" ]]; then
        log "meson setup $BUILD"
        meson setup "$BUILD" "$ROOT" >&2
    fi
    ninja -C "$BUILD" >&2
    SERVER=$BUILD/server/hpo-server
fi
[[ -x "$SERVER" ]] || die "no $SERVER after the build"

# --- PostgreSQL and hpo-server -----------------------------------------------------------------
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

TMP=$(mktemp -d /tmp/hpo-seed.XXXXXX)
chmod 0755 "$TMP"
PG_PORT=$(free_port)
log "starting PostgreSQL in $TMP/pg on port $PG_PORT"
PG_CONN=$("$ROOT/deploy/pg.sh" start "$TMP/pg" "$PG_PORT")
psql "$PG_CONN" -qX -v ON_ERROR_STOP=1 -c 'CREATE DATABASE hpo' >&2
PG_VERSION=$(psql "$PG_CONN" -qAtX -c 'SHOW server_version')
HPO_DB="host=$TMP/pg port=$PG_PORT user=postgres dbname=hpo"

# Auth is on: an admin token from hpo-server's stdout into a 0600 file (never on a command line),
# exported as HPO_TOKEN for seed_hpo.py.
TOKEN_OUT=$("$SERVER" token create --db "$HPO_DB" --scope admin --name seed-experiment) \
    || die "hpo-server token create failed"
(umask 077 && printf '%s\n' "${TOKEN_OUT%%$'\n'*}" >"$TMP/admin.token")
HPO_TOKEN=$(head -n1 "$TMP/admin.token")
export HPO_TOKEN
unset TOKEN_OUT HPO_TOKEN_FILE

log "starting hpo-server"
"$SERVER" --db "$HPO_DB" --listen 127.0.0.1:0 --threads 2 --artifact-dir "$TMP/artifacts" >"$TMP/server.out" 2>"$TMP/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 300); do
    if line=$(grep -m1 '^listening on ' "$TMP/server.out" 2>/dev/null); then
        URL="http://${line#listening on }"
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "hpo-server exited"; }
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$TMP/server.log" >&2; die "hpo-server did not report listening"; }
log "hpo-server at $URL"

# Runs a command as its own process group, stdout appended to RESULTS, and waits for it, so that a
# signal to this script is handled at once (cleanup kills the group).
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
child() {
    setsid -w "$@" >>"$RESULTS" &
    CHILD_PID=$!
    local rc=0
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

T0=$(date +%s)
log "hpo: pruners none, median, sh, asha; seeds $SEEDS; $TRIALS trials each"
child "$PY" "$BENCH/seed_hpo.py" --server "$URL" --pruners none,median,sh,asha --seeds "$SEEDS" \
    --trials "$TRIALS" || { tail -n 30 "$TMP/server.log" >&2; die "seed_hpo.py failed"; }
log "Optuna $OPTUNA_VERSION: pruners none, median, sh, sh with min_resource=1; seeds $SEEDS; $TRIALS trials each"
child "$PY" "$BENCH/seed_optuna.py" --pruners none,median,sh,sh_min1 --seeds "$SEEDS" --trials "$TRIALS" \
    || die "seed_optuna.py failed"
TOTAL_S=$(($(date +%s) - T0))
log "replaying hpo's median and successive-halving histories through Optuna's pruners"
"$PY" "$BENCH/seed_replay.py" "$RESULTS" >"$TMP/replay.jsonl" || die "seed_replay.py failed"
if [[ -n "${RAW_OUT:-}" ]]; then
    cp "$RESULTS" "$RAW_OUT"
    cp "$TMP/replay.jsonl" "${RAW_OUT%.jsonl}.replay.jsonl"
fi

# --- report ------------------------------------------------------------------------------------
SERVER_NOTE="hpo-server from \`build-bench/\` (working tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- server common 2>/dev/null || echo ' + uncommitted changes'))"
[[ -n "${HPO_SERVER:-}" ]] && SERVER_NOTE="hpo-server: \`$HPO_SERVER\` (HPO_SERVER, used as it was built)"
export BENCH_DATE BENCH_ARCH BENCH_NPROC SERVER_NOTE OPTUNA_VERSION SKLEARN_VERSION PG_VERSION SEEDS TRIALS TOTAL_S
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_ARCH=$(uname -m)
BENCH_NPROC=$(env -u OMP_NUM_THREADS nproc) # nproc honours OMP_NUM_THREADS
"$PY" - "$RESULTS" "$TMP/replay.jsonl" >"$TMP/section.md" <<'EOF'
import json, os, statistics, sys
import seed_objective as obj

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
replays = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
e = os.environ
NOISE = 2 / len(obj.Y_VAL)  # two validation samples

def runs(side, pruner):
    return sorted((r for r in rows if r["side"] == side and r["pruner"] == pruner),
                  key=lambda r: r["seed"])

def med(side, pruner, key):
    v = [r[key] for r in runs(side, pruner) if r[key] is not None]
    return statistics.median(v) if v else None

NAMES = {"none": "none", "median": "Median(2, 5, 3)", "sh": "successive halving (defaults)",
         "asha": "ASHA promotion (min 1, max 20, η 3)"}
seeds = e["SEEDS"].split(",")
n = len(seeds)
print("## The seed's experiment offline: hpo vs Optuna")
print()
print(f"{e['BENCH_DATE']} · `uname -m` {e['BENCH_ARCH']} · `nproc` {e['BENCH_NPROC']} · "
      f"PostgreSQL {e['PG_VERSION']} (private, loopback) · Optuna {e['OPTUNA_VERSION']} · "
      f"scikit-learn {e['SKLEARN_VERSION']} · {e['SERVER_NOTE']}. Generated by `bash tests/bench/seed_experiment.sh` "
      f"({e['TOTAL_S']} s for all runs).")
print()
print(f"The seed article's study made offline: digits (scikit-learn's `load_digits`, stratified "
      f"80/20 split, {len(obj.Y_VAL)} validation images), `MLPClassifier` trained one epoch at a "
      f"time with `partial_fit` (minibatches of {obj.BATCH_SIZE}), params `model` ∈ {{(32), (64), "
      f"(64, 32)}} hidden units, `optimizer` ∈ {{SGD, Adam}}, log `learning_rate` ∈ [1e-4, 1e-2]; "
      f"{e['TRIALS']} trials × up to {obj.EPOCHS} epochs, validation accuracy reported after "
      f"every epoch (step = epochs trained, 1..{obj.EPOCHS}; maximize), the last accuracy is the "
      f"trial's value; one sequential worker; training deterministic per (params, seed). hpo: "
      f"`seed_hpo.py` (urllib) against hpo-server on PostgreSQL, sampler `{{\"type\":\"tpe\","
      f"\"seed\":s}}`; Optuna: `seed_optuna.py`, in-memory, `TPESampler(seed=s)`. Medians over "
      f"{n} seeds ({', '.join(seeds)}). Best acc = the study's best complete value. Epochs = "
      f"epochs actually trained (of {int(e['TRIALS']) * obj.EPOCHS}). Wall = the study loop "
      f"(ask/train/report/finish), imports excluded.")
print()
print("| pruner | hpo best acc | Optuna best acc | hpo epochs | Optuna epochs | "
      "epochs ratio (hpo/Optuna) | hpo wall s | Optuna wall s |")
print("|---|---|---|---|---|---|---|---|")
verdicts = []
for p in ("none", "median", "sh"):
    hb, ob = med("hpo", p, "best"), med("optuna", p, "best")
    he, oe = med("hpo", p, "epochs"), med("optuna", p, "epochs")
    hw, ow = med("hpo", p, "wall_s"), med("optuna", p, "wall_s")
    ratio = f"{he / oe:.2f}" if oe else "—"
    print(f"| {NAMES[p]} | {hb:.4f} | {ob:.4f} | {he:g} | {oe:g} | {ratio} | {hw:.1f} | {ow:.1f} |")
    acc_ok = hb >= ob - NOISE
    ep_ok = he <= oe
    verdicts.append(f"{NAMES[p]}: best accuracy {hb:.4f} vs Optuna {ob:.4f} "
                    f"({'MET' if acc_ok else 'MISSED'}: same within noise = 2 validation images "
                    f"= {NOISE:.4f}, or better); epochs {he:g} vs {oe:g} "
                    f"({'MET' if ep_ok else 'MISSED'}: no more than Optuna)")
ab, ae, aw = med("hpo", "asha", "best"), med("hpo", "asha", "epochs"), med("hpo", "asha", "wall_s")
nb, ne = med("hpo", "none", "best"), med("hpo", "none", "epochs")
onb = med("optuna", "none", "best")
print(f"| {NAMES['asha']} | {ab:.4f} | — (Optuna has no ASHA promotion) | {ae:g} | — | — | "
      f"{aw:.1f} | — |")
print()
pct = 100 * ae / ne
asha_acc_ok, asha_ep_ok = ab >= nb - NOISE, pct <= 30
print(f"**ASHA**: best accuracy {ab:.4f} (hpo no pruning {nb:.4f}, Optuna no pruning {onb:.4f}) "
      f"with {ae:g} epochs = {pct:.1f}% of hpo's no-pruning epochs ({ne:g}). Target: the "
      f"no-pruning accuracy (within noise, {NOISE:.4f}) with at most 30% of its epochs — accuracy "
      f"{'MET' if asha_acc_ok else 'MISSED'}, epochs {'MET' if asha_ep_ok else 'MISSED'}.")
print()
for v in verdicts:
    print(f"- {v}.")
anchor = {"none": (0.9805, 800), "median": (0.9805, 473), "sh": (0.9777, 164)}
print("- Anchor (reference machine, Optuna, median of 3): " + "; ".join(
    f"{NAMES[p]} {a:.4f} / {ep} epochs" for p, (a, ep) in anchor.items()) + ".")
def per_seed(side, p):
    return ", ".join(f"s{r['seed']} {r['best']:.4f}/{r['epochs']}" for r in runs(side, p))
print("- Per seed (best acc/epochs): " + "; ".join(
    f"{side} {p}: {per_seed(side, p)}" for side, ps in (("hpo", ("none", "median", "sh", "asha")),
                                                        ("optuna", ("none", "median", "sh")))
    for p in ps) + ".")
def counts(side, p):
    return ", ".join(f"{r['counts'].get('complete')}/{r['counts'].get('pruned')}"
                     for r in runs(side, p))
print("- Trials complete/pruned per seed: " + "; ".join(
    f"{side} {p}: {counts(side, p)}" for side, ps in (("hpo", ("none", "median", "sh", "asha")),
                                                      ("optuna", ("none", "median", "sh")))
    for p in ps) + ". ASHA promotions (resumed from a checkpoint) per seed: "
    + ", ".join(str(r["promotions"]) for r in runs("hpo", "asha"))
    + "; paused trials left behind (pruned by the server at the end): "
    + ", ".join(str(r["left_paused"]) for r in runs("hpo", "asha"))
    + "; resources handed out (from→to): "
    + ", ".join(sorted({f"{a}→{b}" for r in runs("hpo", "asha") for a, b in r["resources"]},
                       key=lambda x: tuple(map(int, x.split("→"))))) + ".")
print("- hpo time in HTTP calls (median s): " + "; ".join(
    f"{NAMES[p]} {med('hpo', p, 'http_s'):.1f} s" for p in ("none", "median", "sh", "asha"))
    + f" — about {1000 * sum(r['http_s'] for r in rows if r['side'] == 'hpo') / max(1, sum(r['requests'] for r in rows if r['side'] == 'hpo')):.1f} ms per request over all runs "
    "(a new TCP connection per request, and a PostgreSQL commit per report).")
def agreement(p):
    rs = sorted((x for x in replays if x["pruner"] == p), key=lambda x: x["seed"])
    return ", ".join(f"s{x['seed']} {x['agree']}/{x['trials']}" for x in rs)
print("- Same history, same decisions? Each hpo median / successive-halving run replayed through "
      "Optuna's own pruner (`seed_replay.py`: hpo's reported values step by step, `should_prune()` "
      "after each, then hpo's outcome told), trials whose first prune step agrees — "
      f"Median(2, 5, 3): {agreement('median')}; successive halving: {agreement('sh')}.")
dis = [(x["pruner"], x["seed"], d) for x in replays for d in x["disagreements"]]
if dis:
    print("- **Decisions that differ from Optuna's pruner on the same history**: " + "; ".join(
        f"{p} s{s}: {d}" for p, s, d in dis[:30]) + (" …" if len(dis) > 30 else "") + ".")
shr = sorted((x for x in replays if x["pruner"] == "sh"), key=lambda x: x["seed"])
if shr:
    dis1 = [d for x in shr for d in x["disagreements_min_resource_1"]]
    print("- The same successive-halving histories through `SuccessiveHalvingPruner(min_resource=1)` "
          "(what \"auto\" resolves to with 20-epoch trials): " + ", ".join(
          f"s{x['seed']} {x['agree_min_resource_1']}/{x['trials']}" for x in shr) + " agree"
          + ("; " + "; ".join(dis1[:10]) if dis1 else "") + ". With min_resource \"auto\", "
          "Optuna records no rung before the first trial completes; hpo leaves out the trials "
          "finished by then (`server/algo/hpo_pruner.h`), which makes a sequential study's "
          "decisions Optuna's own (the replay line above).")
if runs("optuna", "sh_min1"):
    print(f"- Optuna with `SuccessiveHalvingPruner(min_resource=1)` on its own runs (for "
          f"comparison): best acc {med('optuna', 'sh_min1', 'best'):.4f}, epochs "
          f"{med('optuna', 'sh_min1', 'epochs'):g} (per seed {per_seed('optuna', 'sh_min1')}), "
          f"against {med('optuna', 'sh', 'epochs'):g} with the default \"auto\"; with the "
          f"same decisions, the remaining epoch gap is which trials TPE drew.")
anom = [(r["pruner"], r["seed"], a) for r in rows if r["side"] == "hpo" for a in r["anomalies"]]
if anom:
    print("- **Server answers that contradict the API**: " + "; ".join(
        f"{p} s{s}: {a}" for p, s, a in anom) + ".")
else:
    print("- Every hpo answer matched the API (201 asks with resource/resume only under ASHA, "
          "pause only under ASHA at resource.to, promotions resuming at the epoch where the trial "
          "paused, no 204 with one worker, 409 study_complete at the end, no trial left running).")
print("- hpo's TPE and Optuna's draw different random numbers for the same seed, so the two sides "
      "sample different trials (and different networks: (64, 32) costs about twice (32) per epoch); "
      "compare the medians, not single seeds. The wall times are mostly training; hpo's also "
      "include its HTTP round trips (line above).")
EOF
cat "$TMP/section.md"
if [[ "$NO_RESULTS" != 1 ]]; then
    "$PY" - "$BENCH/RESULTS.md" "$TMP/section.md" <<'EOF'
import os, sys
path, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n")
begin, end = "<!-- seed:begin -->", "<!-- seed:end -->"
text = open(path).read() if os.path.exists(path) else ""
block = f"{begin}\n{section}\n{end}"
i, j = text.find(begin), text.find(end)
if i >= 0 and j > i:
    text = text[:i] + block + text[j + len(end):]
else:
    text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
tmp = path + ".seed-tmp"
open(tmp, "w").write(text)
os.replace(tmp, path)
EOF
    log "wrote the seed section of $BENCH/RESULTS.md"
fi
