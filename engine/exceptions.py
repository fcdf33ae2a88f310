"""What can go wrong when importing from an engine server, in words a person can act on.

No notion of HTTP here: `icebox.api_errors` maps these to status codes. No message ever holds
an engine password: servers are named by `EngineServerConfig.base_url`, which has no userinfo.
"""

from core.exceptions import Forbidden, InvalidParameter, UpstreamFailure


class EngineNotAllowed(InvalidParameter):
    """The URL names no server of ICEBOX_ENGINE_SERVERS (refused before any request is sent)."""

    code = "engine_not_allowed"


class ImportForbidden(Forbidden):
    """The user may not import for the owner they named (only staff import for others)."""

    code = "forbidden"


class EngineFailure(UpstreamFailure):
    """The engine server could not give what an import needs (raised in workers, stored on the job)."""

    code = "engine_error"


class EngineUnreachable(EngineFailure):
    code = "engine_unreachable"


class EngineRefusedLogin(EngineFailure):
    code = "engine_refused_login"


class EngineForbidden(EngineFailure):
    code = "engine_forbidden"


class EngineRedirectRefused(EngineFailure):
    code = "engine_redirect_refused"


class CalcNotFound(EngineFailure):
    code = "calc_not_found"


class CalcNotComplete(EngineFailure):
    code = "calc_not_complete"


class EngineHTTPError(EngineFailure):
    """Any other non-2xx answer: the status and the first line of the engine's text traceback."""

    code = "engine_http_error"

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status

    def __reduce__(self):
        return _rebuild_http_error, (self.message, self.status)


def _rebuild_http_error(message, status):
    return EngineHTTPError(message, status=status)


class EngineRunRefused(EngineFailure):
    """The engine would not run a submitted job (it answered 500 with the traceback)."""

    code = "engine_run_refused"

    def __init__(self, message: str, *, traceback: list[str], calc_id: int | None):
        super().__init__(message)
        self.traceback, self.calc_id = traceback, calc_id

    def __reduce__(self):
        return _rebuild_run_refused, (self.message, self.traceback, self.calc_id)


def _rebuild_run_refused(message, traceback, calc_id):
    return EngineRunRefused(message, traceback=traceback, calc_id=calc_id)


class EngineBadResponse(EngineFailure):
    """A 200 whose body is not what the engine's API documents (not JSON, not an npz...)."""

    code = "engine_bad_response"


class DownloadTooLarge(EngineFailure):
    code = "download_too_large"
