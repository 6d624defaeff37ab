"""One exception tree for the plugin: QBOSyncError at the root, request errors carrying facts."""

from __future__ import annotations

from dataclasses import dataclass


class QBOSyncError(Exception):
    """Root of every error the plugin raises on purpose."""


class ConfigurationError(QBOSyncError):
    """A QBO_SYNC_* setting is missing or wrong."""


class ConnectionProblem(QBOSyncError):
    """The profile cannot talk to QuickBooks: not connected, or reconnect needed."""


class ReconnectNeeded(ConnectionProblem):
    """Intuit refused the refresh token (invalid_grant): the user must connect again."""


class TokenUnreadable(ReconnectNeeded):
    """No QBO_SYNC_TOKEN_KEY key decrypts a stored token (wrong key, or its key was removed)."""


@dataclass
class QBOFault:
    """One error inside a QuickBooks Fault (or the gateway's lower-case envelope)."""

    code: str
    message: str
    detail: str = ""
    element: str = ""


class QBORequestError(QBOSyncError):
    """A call to QuickBooks failed. Carries what support and the user need to act on it."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        faults: list[QBOFault] | None = None,
        intuit_tid: str | None = None,
        request_id: str | None = None,
        fault_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.faults = faults or []
        self.intuit_tid = intuit_tid
        self.request_id = request_id
        self.fault_type = fault_type

    @property
    def code(self) -> str | None:
        return self.faults[0].code if self.faults else None

    @property
    def detail(self) -> str:
        return self.faults[0].detail if self.faults else ""

    @property
    def element(self) -> str:
        return self.faults[0].element if self.faults else ""


class RetryableRequestError(QBORequestError):
    """Worth trying again: throttling, 5xx, timeouts, dropped connections."""

    retryable = True


class ThrottledError(RetryableRequestError):
    """HTTP 429 / fault 3001: the company's budget is spent; wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float = 60.0, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class AuthenticationError(QBORequestError):
    """401 (3200): the access token is expired or revoked."""


class AuthorizationError(QBORequestError):
    """403 (3100): the token is not valid for this company."""


class StaleObjectError(QBORequestError):
    """5010: the SyncToken is out of date."""


class ValidationError(QBORequestError):
    """QuickBooks refused the data (6240, 6140, 2040, 2050, 2500, 610, ...)."""


class MappingError(QBOSyncError):
    """A local record cannot be expressed in QuickBooks as it is (missing item, no lines, ...)."""
