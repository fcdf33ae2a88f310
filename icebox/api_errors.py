"""The one place where domain errors become HTTP responses (DRF's EXCEPTION_HANDLER)."""

from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from engine.exceptions import EngineFailure, ImportForbidden
from geo.parsers import ParseError
from icebox.exceptions import Busy, InvalidFile, InvalidParameter, InvalidPropertyName, NotFound, ReadOnly

_STATUS = {
    InvalidParameter: status.HTTP_400_BAD_REQUEST,
    InvalidPropertyName: status.HTTP_400_BAD_REQUEST,
    InvalidFile: status.HTTP_400_BAD_REQUEST,
    ParseError: status.HTTP_400_BAD_REQUEST,
    NotFound: status.HTTP_404_NOT_FOUND,
    ReadOnly: status.HTTP_403_FORBIDDEN,
    Busy: status.HTTP_409_CONFLICT,
    ImportForbidden: status.HTTP_403_FORBIDDEN,
    # Imports talk to engines in workers; should a request ever wait on one, its failure is a bad gateway.
    EngineFailure: status.HTTP_502_BAD_GATEWAY,
}


def _status_for(exc: Exception) -> int | None:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return None


def exception_handler(exc, context):
    code = _status_for(exc)
    if isinstance(exc, Throttled):
        # DRF's handler adds Retry-After; the body takes the API's error shape.
        response = drf_exception_handler(exc, context)
        response.data = {"detail": str(exc.detail), "code": "throttled"}
        return response
    if code is None:
        return drf_exception_handler(exc, context)
    if isinstance(exc, ParseError):
        body = {"detail": str(exc), "code": "invalid_file", "file": exc.file_name, "line": exc.line}
    else:
        body = {"detail": exc.message, "code": exc.code}
    return Response(body, status=code)
