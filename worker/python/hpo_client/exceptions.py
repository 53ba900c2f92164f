# hpo_client.exceptions: the errors the server answers, as Python exceptions, plus TrialPruned.
"""Exceptions of the hpo client.

Every error answer of the server (``{"error": {"code", "message", "field"}}``) becomes an
:class:`HpoError` subclass chosen by its code, carrying ``code``, ``message``, ``field`` and the
HTTP ``status``.
"""


class HpoError(Exception):
    """An error answered by the hpo server (or a failure to reach it)."""

    def __init__(self, message, code=None, field=None, status=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status

    def __str__(self):
        text = self.message
        if self.field:
            text += " (field: %s)" % self.field
        if self.code:
            text += " [%s]" % self.code
        return text


class InvalidArgumentError(HpoError, ValueError):
    """400 invalid_argument: a bad request (a ValueError too, as Optuna raises for bad input)."""


class NotFoundError(HpoError, KeyError):
    """404 not_found: no such study or trial (a KeyError too, as Optuna's load_study raises)."""

    __str__ = HpoError.__str__


class ConflictError(HpoError):
    """409 conflict, and the base of the other 409 answers but study_complete."""


class AlreadyExistsError(ConflictError):
    """409 already_exists: a study of that name exists (Optuna's DuplicatedStudyError)."""


class TrialFinishedError(ConflictError):
    """409 trial_finished: the trial is finished (or finished differently before)."""


class StudyCompleteError(HpoError):
    """409 study_complete: the study will never hand out another trial."""


class UnavailableError(HpoError):
    """503 unavailable, or the server could not be reached after the retries."""


class MethodNotAllowedError(HpoError):
    """405 method_not_allowed."""


class TooLargeError(HpoError):
    """413 too_large."""


class InternalError(HpoError):
    """500 internal: a server bug; see the server log."""


class AuthError(HpoError):
    """The base of 401 and 403: the server refused the request's credentials. Never retried."""


class UnauthenticatedError(AuthError):
    """401 unauthenticated: no token, or a token the server does not know (wrong, expired or
    revoked)."""


class PermissionDeniedError(AuthError):
    """403 permission_denied: the token's scope is too low (read < worker < admin), or the study
    is outside the token's restriction."""


class CertificateError(HpoError):
    """The https server's certificate did not verify (wrong CA, or a host name it does not
    name); never retried. Give the CA file with cacert= or HPO_CACERT."""


class LimitExceededError(ConflictError):
    """409 limit_exceeded: a limit configured on the server (its message names the flag)."""


DuplicatedStudyError = AlreadyExistsError

_BY_CODE = {
    "invalid_argument": InvalidArgumentError,
    "not_found": NotFoundError,
    "method_not_allowed": MethodNotAllowedError,
    "already_exists": AlreadyExistsError,
    "conflict": ConflictError,
    "trial_finished": TrialFinishedError,
    "study_complete": StudyCompleteError,
    "too_large": TooLargeError,
    "internal": InternalError,
    "unavailable": UnavailableError,
    "unauthenticated": UnauthenticatedError,
    "permission_denied": PermissionDeniedError,
    "limit_exceeded": LimitExceededError,
}


def error_for(status, code, message, field=None):
    """The exception for an error answer."""
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = {400: InvalidArgumentError, 401: UnauthenticatedError,
               403: PermissionDeniedError, 404: NotFoundError, 409: ConflictError,
               503: UnavailableError}.get(status, HpoError)
    return cls(message or "HTTP %d" % status, code=code, field=field, status=status)


class OptunaError(Exception):
    """Base of the Optuna-compatible exceptions (as optuna.exceptions.OptunaError)."""


class TrialPruned(OptunaError):
    """Raise it from an objective to end the trial as pruned (as optuna.TrialPruned)."""


class TrialPaused(TrialPruned):
    """ASHA: the trial reached its rung and the server paused it; it waits to be promoted.

    Study.optimize leaves such a trial paused instead of finishing it. It derives from
    TrialPruned so that Optuna-style code (``if trial.should_prune(): raise TrialPruned()``)
    works unchanged.
    """
