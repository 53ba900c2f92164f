# hpo_client: Optuna-compatible Python client of the hpo server (standard library only).
"""``import hpo_client as optuna`` and run Optuna-style code against an hpo server.

    study = optuna.create_study(direction="minimize", storage="http://127.0.0.1:8080")
    study.optimize(objective, n_trials=30)
    print(study.best_params)

See worker/python/README.md for the API, ASHA promotion, running under hpo-worker and the
differences from Optuna.
"""

from . import distributions, exceptions, logging, pruners, samplers, trial
from . import study
from . import importance
from .exceptions import (AlreadyExistsError, AuthError, CertificateError, ConflictError,
                         DuplicatedStudyError, HpoError, InternalError, InvalidArgumentError,
                         LimitExceededError, NotFoundError, PermissionDeniedError,
                         StudyCompleteError, TrialFinishedError, TrialPaused, TrialPruned,
                         UnauthenticatedError, UnavailableError)
from .study import (MaxTrialsCallback, Study, StudyDirection, create_study, delete_study,
                    get_all_study_names, get_all_study_summaries, load_study)
from .trial import FrozenTrial, Trial, TrialState, create_trial
from .worker import current_trial, in_worker, report_final, run_current
from ._http import Client

__version__ = "0.1.0"


def __getattr__(name):
    # hpo_client.visualization needs plotly: imported on first use (`optuna.visualization.
    # plot_slice(study)` after `import hpo_client as optuna`), its ImportError only then
    if name == "visualization":
        import importlib
        return importlib.import_module(".visualization", __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


__all__ = [
    "AlreadyExistsError", "AuthError", "CertificateError", "Client", "ConflictError",
    "DuplicatedStudyError", "FrozenTrial", "HpoError", "InternalError", "InvalidArgumentError",
    "LimitExceededError", "MaxTrialsCallback", "NotFoundError", "PermissionDeniedError",
    "Study", "StudyCompleteError", "StudyDirection", "Trial", "TrialFinishedError",
    "TrialPaused", "TrialPruned", "TrialState", "UnauthenticatedError", "UnavailableError",
    "create_study",
    "create_trial", "current_trial", "delete_study", "distributions", "exceptions",
    "get_all_study_names", "get_all_study_summaries", "importance", "in_worker", "load_study",
    "logging",
    "pruners", "report_final", "run_current", "samplers", "study", "trial",
]
