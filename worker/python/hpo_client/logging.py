# hpo_client.logging: Optuna-like verbosity control of the client's log ("hpo_client" logger).
"""``hpo_client.logging.set_verbosity(hpo_client.logging.WARNING)`` as with Optuna. By default
the client logs INFO lines (one per finished trial) to stderr, as Optuna does."""

import logging as _logging
import threading as _threading

CRITICAL = _logging.CRITICAL
FATAL = _logging.FATAL
ERROR = _logging.ERROR
WARNING = _logging.WARNING
WARN = _logging.WARN
INFO = _logging.INFO
DEBUG = _logging.DEBUG

_lock = _threading.Lock()
_handler = None


def _root():
    return _logging.getLogger("hpo_client")


def _configure():
    global _handler
    with _lock:
        if _handler is not None:
            return
        _handler = _logging.StreamHandler()
        _handler.setFormatter(_logging.Formatter("[%(levelname)s %(asctime)s] %(message)s"))
        root = _root()
        root.addHandler(_handler)
        root.setLevel(INFO)
        root.propagate = False


def get_logger(name):
    """A logger under "hpo_client"."""
    _configure()
    return _logging.getLogger(name)


def get_verbosity():
    _configure()
    return _root().getEffectiveLevel()


def set_verbosity(level):
    _configure()
    _root().setLevel(level)


def disable_default_handler():
    _configure()
    _root().removeHandler(_handler)


def enable_default_handler():
    _configure()
    _root().addHandler(_handler)


def disable_propagation():
    _configure()
    _root().propagate = False


def enable_propagation():
    _configure()
    _root().propagate = True
