"""Exceptions raised by the provider. None of them ever carries a secret."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowFailException


class ModelArtsError(Exception):
    """Base class of every error this provider raises."""


class ModelArtsConfigError(ModelArtsError, AirflowFailException, ValueError):
    """A connection or operator argument is invalid; raised before any request is sent.

    It is an ``AirflowFailException``: a configuration error fails the task at once, without retries (a retry
    would send the same wrong request again).
    """


class ModelArtsApiError(ModelArtsError):
    """ModelArts, IAM or the API gateway answered with an error.

    :param http_status: HTTP status code (0 when no response arrived).
    :param error_code: ``error_code`` of the body, e.g. ``ModelArts.0103`` or ``APIG.0301``.
    :param message: ``error_msg`` / ``error_message`` of the body.
    :param request_id: ``X-Request-Id`` of the response, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int = 0,
        error_code: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.error_code = error_code
        self.message = message
        self.request_id = request_id
        self.operation = operation
        parts = [f"{operation}: " if operation else "", f"HTTP {http_status}" if http_status else "no response"]
        if error_code:
            parts.append(f" {error_code}")
        parts.append(f": {message}")
        if request_id:
            parts.append(f" (request id {request_id})")
        super().__init__("".join(parts))


class ModelArtsAuthError(ModelArtsApiError, AirflowFailException):
    """Authentication or authorisation failed (401/403, APIG.0301, ModelArts.02xx) after the hook refreshed what
    it could (tokens, temporary keys).

    Like a configuration error it fails the task without retries: a retry would send the same rejected
    signature again, and Huawei locks an AK after more than 5 of them.
    """


class ModelArtsNotFoundError(ModelArtsApiError):
    """The job, version or other resource does not exist."""


class ModelArtsUnreachableError(ModelArtsApiError):
    """ModelArts did not answer a waiting task for longer than its ``outage_window``; the job may still run."""


class ModelArtsJobError(ModelArtsError):
    """A training job version ended in a failure or stopped state, or ran past ``max_run_time``."""
