# hpo_client.visualization: Optuna's plotly figures of a study, from the server's plot data.
"""Optuna's ``optuna.visualization`` over an hpo server: the same functions, signatures and
figures (``plotly.graph_objects.Figure``), built from the server's plot-data endpoints
(``/columns``, ``/history``, ``/edf``, ``/importance``, ``/asha``) instead of reading every
trial. Optuna code plots a study unchanged but for the import::

    from hpo_client.visualization import plot_optimization_history
    plot_optimization_history(study).write_html("history.html")

Needs plotly (Debian: ``apt-get install python3-plotly``); importing this module without it
raises ImportError saying so. A ``target`` function is applied here to FrozenTrials; for
plot_param_importances it must select an objective (``lambda t: t.values[k]``), as the server
computes importances from the objectives' values.
"""

from ._plotly import PLOTLY_VERSION as _PLOTLY_VERSION  # raises ImportError without plotly
from ._asha import plot_asha
from ._contour import plot_contour
from ._edf import plot_edf
from ._intermediate_values import plot_intermediate_values
from ._optimization_history import plot_optimization_history
from ._parallel_coordinate import plot_parallel_coordinate
from ._param_importances import plot_param_importances
from ._rank import plot_rank
from ._slice import plot_slice
from ._timeline import plot_timeline


def is_available():
    """True: plotly (4.0 or newer) is installed, or importing this module would have failed
    (Optuna's is_available)."""
    return _PLOTLY_VERSION >= (4, 0, 0)


__all__ = [
    "is_available",
    "plot_asha",
    "plot_contour",
    "plot_edf",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_rank",
    "plot_slice",
    "plot_timeline",
]
