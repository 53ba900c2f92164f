# seed_objective.py: the seed article's experiment made offline — the objective shared by seed_hpo.py, seed_optuna.py and optuna_sampler_quality.py.
#
# The seed trains a pretrained CNN chosen by `model_name`, with `optimizer_name` SGD or Adam and a
# log-uniform learning rate in [1e-4, 1e-2], for 20 epochs, reporting validation accuracy each epoch
# (maximize). Offline, on 2 CPU cores, the same shape of problem is: the digits data set shipped with
# scikit-learn (load_digits, no download), a fixed stratified 80/20 train/validation split, and
# scikit-learn's MLPClassifier trained one epoch at a time with partial_fit:
#   model          categorical: mlp32 = (32,), mlp64 = (64,), mlp64x32 = (64, 32) hidden units
#   optimizer      categorical: SGD -> solver "sgd" (momentum 0.9, Nesterov), Adam -> solver "adam"
#   learning_rate  float, log, [1e-4, 1e-2] -> learning_rate_init
# Minibatches of 32. Training is deterministic per (params, seed): the network's initial weights and
# the shuffling come from random_state = seed, and a pickled model carries its RNG, so a model
# resumed from a checkpoint goes on exactly as one trained without a pause.
import pickle
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

MODELS = {"mlp32": (32,), "mlp64": (64,), "mlp64x32": (64, 32)}
OPTIMIZERS = {"SGD": "sgd", "Adam": "adam"}
LR_LOW, LR_HIGH = 1e-4, 1e-2
EPOCHS = 20
BATCH_SIZE = 32

# The search space in hpo's JSON form (the Optuna side suggests the same names and distributions).
SEARCH_SPACE = {
    "model": {"type": "categorical", "choices": list(MODELS)},
    "optimizer": {"type": "categorical", "choices": list(OPTIMIZERS)},
    "learning_rate": {"type": "float", "low": LR_LOW, "high": LR_HIGH, "log": True},
}

warnings.filterwarnings("ignore", category=ConvergenceWarning)

_X, _Y = load_digits(return_X_y=True)
_X = _X / 16.0  # pixel intensities 0..16
X_TRAIN, X_VAL, Y_TRAIN, Y_VAL = train_test_split(_X, _Y, test_size=0.2, stratify=_Y,
                                                  random_state=0)
CLASSES = np.unique(_Y)


def new_model(params, seed):
    """An untrained network for params {model, optimizer, learning_rate}."""
    return MLPClassifier(hidden_layer_sizes=MODELS[params["model"]],
                         solver=OPTIMIZERS[params["optimizer"]],
                         learning_rate_init=float(params["learning_rate"]),
                         batch_size=BATCH_SIZE, random_state=seed)


def train_epoch(model):
    """Trains one epoch (one pass over the training set); returns the validation accuracy."""
    model.partial_fit(X_TRAIN, Y_TRAIN, classes=CLASSES)
    return float(model.score(X_VAL, Y_VAL))


def checkpoint(model):
    return pickle.dumps(model)


def restore(blob):
    return pickle.loads(blob)


def objective(seed):
    """The experiment without pruning as an Optuna (or hpo_client) objective, for
    sampler_quality.sh: train EPOCHS epochs, return the last validation accuracy (maximize)."""

    def f(trial):
        params = {
            "model": trial.suggest_categorical("model", list(MODELS)),
            "optimizer": trial.suggest_categorical("optimizer", list(OPTIMIZERS)),
            "learning_rate": trial.suggest_float("learning_rate", LR_LOW, LR_HIGH, log=True),
        }
        model = new_model(params, seed)
        acc = None
        for _ in range(EPOCHS):
            acc = train_epoch(model)
        return acc

    return f
