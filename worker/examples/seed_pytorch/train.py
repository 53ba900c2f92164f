# train.py: the seed article's PyTorch + Optuna experiment, offline (sklearn's digits instead of
# downloaded images), runnable as an hpo-worker command or standalone with the Python client.
"""The seed article's experiment on the 8x8 digits shipped with scikit-learn.

Search space (as the article's, with three small networks instead of pretrained ones):
  model_name  categorical: "mlp", "mlp_wide", "cnn"
  optimizer   categorical: "SGD", "Adam"
  lr          float, log, 1e-4 .. 1e-2
Each trial trains for --epochs (20) epochs, reports the validation accuracy after every epoch
(step = epoch, from 0), returns the best validation accuracy and keeps the state_dict of its best
epoch as the artifact ``model.pt``.

Two ways to run it:

  # one trial per process, for hpo-worker (params from the server; it uploads model.pt and log)
  hpo-worker --server URL --study seed -- python3 train.py [--epochs N]

  # a whole study in this process with the Python client (TPE + MedianPruner(2, 5, 3))
  python3 train.py --server URL --study NAME --trials N [--epochs N]

The epochs can also be set with HPO_EXAMPLE_EPOCHS, the training seed with HPO_EXAMPLE_SEED
(default 0: the same params always give the same model). The objective is importable
(make_objective) so optuna_baseline.py runs the very same training under Optuna itself.
"""

import argparse
import io
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# hpo_client lives in worker/python; make the example work from a checkout without PYTHONPATH.
_client_dir = os.path.normpath(os.path.join(HERE, "..", "..", "python"))
if os.path.isdir(os.path.join(_client_dir, "hpo_client")) and _client_dir not in sys.path:
    sys.path.append(_client_dir)

try:
    import torch
    from torch import nn
except ImportError as e:  # say what to install instead of a bare traceback
    sys.stderr.write("train.py: PyTorch is not importable (%s); on Debian 12: "
                     "apt-get install python3-torch\n" % e)
    sys.exit(3)
try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError as e:
    sys.stderr.write("train.py: scikit-learn is not importable (%s); on Debian 12: "
                     "apt-get install python3-sklearn\n" % e)
    sys.exit(3)

MODEL_NAMES = ["mlp", "mlp_wide", "cnn"]
OPTIMIZERS = ["SGD", "Adam"]
LR_LOW, LR_HIGH = 1e-4, 1e-2
BATCH = 32

# The search space in the server's JSON form (quickstart.sh declares it when creating the study).
SEARCH_SPACE = {
    "model_name": {"type": "categorical", "choices": MODEL_NAMES},
    "optimizer": {"type": "categorical", "choices": OPTIMIZERS},
    "lr": {"type": "float", "low": LR_LOW, "high": LR_HIGH, "log": True},
}


def env_int(name, default):
    v = os.environ.get(name, "").strip()
    return int(v) if v else default


# ---- data and models ----

_data = None


def load_data():
    """Digits (1797 8x8 images, 10 classes), pixels scaled to [0, 1]; a fixed stratified 80/20
    split (1437 train, 360 validation)."""
    global _data
    if _data is None:
        d = load_digits()
        x = (d.data / 16.0).astype("float32")
        xtr, xva, ytr, yva = train_test_split(x, d.target, test_size=0.2, random_state=0,
                                              stratify=d.target)
        _data = (torch.from_numpy(xtr), torch.from_numpy(ytr).long(),
                 torch.from_numpy(xva), torch.from_numpy(yva).long())
    return _data


class SmallCNN(nn.Module):
    """Two 3x3 convolutions and a pooling on the 8x8 image, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = self.features(x.view(-1, 1, 8, 8))
        return self.classifier(torch.flatten(x, 1))


def get_model(model_name):
    if model_name == "mlp":
        return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    if model_name == "mlp_wide":
        return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    if model_name == "cnn":
        return SmallCNN()
    raise ValueError("unknown model_name %r" % (model_name,))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


# ---- the objective ----

def make_objective(epochs, seed, pruned_exc, save_model):
    """The article's objective. pruned_exc: the TrialPruned class of the library in use;
    save_model(trial, state_bytes): keeps the model of the best epoch (called when the trial
    improves, and once more before it ends)."""

    def objective(trial):
        params = {
            "model_name": trial.suggest_categorical("model_name", MODEL_NAMES),
            "optimizer": trial.suggest_categorical("optimizer", OPTIMIZERS),
            "lr": trial.suggest_float("lr", LR_LOW, LR_HIGH, log=True),
        }
        torch.manual_seed(seed)
        xtr, ytr, xva, yva = load_data()
        model = get_model(params["model_name"])
        criterion = nn.CrossEntropyLoss()
        optimizer = getattr(torch.optim, params["optimizer"])(model.parameters(), lr=params["lr"])
        gen = torch.Generator().manual_seed(seed)
        best_acc, best_state = -1.0, None
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(len(xtr), generator=gen)
            for i in range(0, len(xtr), BATCH):
                idx = perm[i:i + BATCH]
                optimizer.zero_grad()
                loss = criterion(model(xtr[idx]), ytr[idx])
                loss.backward()
                optimizer.step()
            acc = accuracy(model, xva, yva)
            if acc > best_acc:
                best_acc = acc
                buf = io.BytesIO()
                torch.save(model.state_dict(), buf)
                best_state = buf.getvalue()
                save_model(trial, best_state, final=False)
            trial.report(acc, epoch)
            if trial.should_prune():
                save_model(trial, best_state, final=True)
                raise pruned_exc()
        save_model(trial, best_state, final=True)
        return best_acc

    return objective


# ---- saving the model ----

def write_atomically(path, data):
    """Writes data to path through a temporary file beside it (renamed over path)."""
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".model-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_for_worker(trial, state, final):
    """Under hpo-worker: HPO_ARTIFACT_DIR/model.pt, uploaded by the worker when we exit (the
    best epoch so far is written at each improvement, so a trial stopped by a prune keeps it).
    The temporary file is made in the trial's directory, above the artifact directory, so a
    kill in the middle never leaves a stray file to upload."""
    art = os.environ.get("HPO_ARTIFACT_DIR")
    if not art or state is None:
        return
    path = os.path.join(art, "model.pt")
    parent = os.path.dirname(os.path.abspath(art))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".model-", dir=parent)
    except OSError:
        write_atomically(path, state)
        return
    with os.fdopen(fd, "wb") as f:
        f.write(state)
    os.replace(tmp, path)


def put_artifact(server, study, number, name, data, timeout=60):
    """PUT /api/v1/studies/{study}/trials/{n}/artifacts/{name} (the Python client has no
    artifact upload): returns the server's JSON answer as text. The token and the CA are the
    client's (HPO_TOKEN or HPO_TOKEN_FILE, HPO_CACERT)."""
    import hpo_client

    client = hpo_client.Client(server)
    url = "%s/api/v1/studies/%s/trials/%d/artifacts/%s" % (
        client.url, urllib.parse.quote(study, safe=""), number,
        urllib.parse.quote(name, safe=""))
    req = urllib.request.Request(url, data=data, method="PUT",
                                 headers={"Content-Type": "application/octet-stream",
                                          **client.auth_headers()})
    last = None
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=client.ssl_context) as r:
                return r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise
            last = e
        except urllib.error.URLError as e:
            last = e
        time.sleep(0.2 * 2 ** attempt)
    raise last


def uploader(server, study_name):
    """Standalone: the model of the trial's best epoch goes to the server as model.pt when the
    trial ends (complete or pruned)."""

    def save(trial, state, final):
        if final and state is not None:
            put_artifact(server, study_name, trial.number, "model.pt", state)

    return save


# ---- the two ways to run ----

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="The seed article's PyTorch experiment on sklearn's digits: one trial under "
                    "hpo-worker, or a whole study with --server/--study/--trials.")
    ap.add_argument("--server", default=os.environ.get("HPO_SERVER"),
                    help="hpo server URL (standalone; default $HPO_SERVER)")
    ap.add_argument("--study", help="study name (standalone; created if missing)")
    ap.add_argument("--trials", type=int, default=40, help="trials to run (standalone; 40)")
    ap.add_argument("--epochs", type=int, default=env_int("HPO_EXAMPLE_EPOCHS", 20),
                    help="epochs per trial (20; env HPO_EXAMPLE_EPOCHS)")
    ap.add_argument("--seed", type=int, default=env_int("HPO_EXAMPLE_SEED", 0),
                    help="seed of the training and of TPE (0; env HPO_EXAMPLE_SEED)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error("--epochs must be at least 1")
    torch.set_num_threads(args.threads)

    import hpo_client as optuna

    if optuna.in_worker() and not args.study:
        objective = make_objective(args.epochs, args.seed, optuna.TrialPruned, save_for_worker)
        optuna.run_current(objective)  # prints hpo: step=E value=ACC ... and hpo: value=BEST
        return 0

    if not args.server or not args.study:
        ap.error("standalone use needs --server URL and --study NAME (or run me under hpo-worker)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=args.server, study_name=args.study, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=5,
                                           interval_steps=3))
    objective = make_objective(args.epochs, args.seed, optuna.TrialPruned,
                               uploader(args.server, args.study))
    t0 = time.monotonic()
    study.optimize(objective, n_trials=args.trials)
    wall = time.monotonic() - t0
    trials = study.trials
    n_complete = sum(1 for t in trials if t.state == optuna.trial.TrialState.COMPLETE)
    n_pruned = sum(1 for t in trials if t.state == optuna.trial.TrialState.PRUNED)
    best = study.best_trial
    print("study %s: %d trials (%d complete, %d pruned) in %.1f s" % (
        args.study, len(trials), n_complete, n_pruned, wall))
    print("Best accuracy: %r" % best.value)
    print("Best parameters: %r" % (best.params,))
    print("Best model: %s/api/v1/studies/%s/trials/%d/artifacts/model.pt" % (
        args.server.rstrip("/"), urllib.parse.quote(args.study, safe=""), best.number))
    return 0


if __name__ == "__main__":
    sys.exit(main())
