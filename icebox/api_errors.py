"""The one place where errors become HTTP responses: every error body is {"detail", "code"}.

`exception_handler` is DRF's EXCEPTION_HANDLER: domain errors by the table below, DRF's own
(401, 405, 406, 415, 429...) with their code added, anything unexpected a logged JSON 500.
The `handler*` views answer what Django itself refuses outside DRF (no URL matched, a bad Host,
an exception in a middleware) in the same shape.
"""

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import JsonResponse
from rest_framework import exceptions, renderers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.exceptions import Forbidden, InvalidFile, InvalidParameter, InvalidPropertyName, NotFound, ReadOnly, UpstreamFailure
from icebox.authentication import BasicAuthenticationFailed
from kinds.base import ParseError

log = logging.getLogger(__name__)

_STATUS = {
    InvalidParameter: status.HTTP_400_BAD_REQUEST,
    InvalidPropertyName: status.HTTP_400_BAD_REQUEST,
    InvalidFile: status.HTTP_400_BAD_REQUEST,
    ParseError: status.HTTP_400_BAD_REQUEST,
    NotFound: status.HTTP_404_NOT_FOUND,
    ReadOnly: status.HTTP_403_FORBIDDEN,
    Forbidden: status.HTTP_403_FORBIDDEN,
    # Imports talk to engines in workers; should a request ever wait on one, its failure is a bad gateway.
    UpstreamFailure: status.HTTP_502_BAD_GATEWAY,
}

SERVER_ERROR = {"detail": "internal server error: the request was not completed; it is logged", "code": "server_error"}


def _status_for(exc: Exception) -> int | None:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return None


def exception_handler(exc, context):
    code = _status_for(exc)
    if code is not None:
        if isinstance(exc, ParseError):
            body = {"detail": str(exc), "code": "invalid_file", "file": exc.file_name, "line": exc.line}
        else:
            body = {"detail": exc.message, "code": exc.code}
        response = Response(body, status=code)
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields or files, a body over DATA_UPLOAD_MAX_MEMORY_SIZE: Django's own 400, logged as Django does.
        logging.getLogger(f"django.security.{type(exc).__name__}").error(str(exc))
        response = Response({"detail": str(exc), "code": "bad_request"}, status=status.HTTP_400_BAD_REQUEST)
    else:
        if isinstance(exc, BasicAuthenticationFailed):
            # DRF challenges with the first authenticator's scheme (Token); a refused Basic header
            # is answered in Basic, which is what a Basic client (QGIS) understands.
            exc.auth_header = BasicAuthenticationFailed.auth_header
        response = drf_exception_handler(exc, context)
        if response is None:
            # Not re-raised: Django would answer its HTML page. Django logs the 500 without the cause.
            log.error("unexpected error answering %s", context["request"].path, exc_info=exc)
            set_rollback()
            response = Response(SERVER_ERROR, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
        else:
            response.data = _error_body(exc, response.data)
    _render_as_json(context.get("request"))
    return response


def _error_body(exc, data) -> dict:
    """DRF's {"detail"} (or a serializer's field errors) in Icebox's {"detail", "code"}."""
    if isinstance(exc, exceptions.ValidationError):
        messages = []
        for field, errors in (data.items() if isinstance(data, dict) else [(None, data)]):
            for error in errors if isinstance(errors, list) else [errors]:
                messages.append(f"{field}: {error}" if field not in (None, "non_field_errors") else str(error))
        return {"detail": "; ".join(messages) or "invalid input", "code": "invalid"}
    detail = data.get("detail") if isinstance(data, dict) else None
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    return {"detail": str(detail if detail is not None else exc), "code": code}


def _render_as_json(request) -> None:
    # An error is JSON whatever the view serves (GeoJSON, vector tiles, OpenAPI); only a browser
    # asking for the browsable API keeps its HTML page.
    if request is None or isinstance(getattr(request, "accepted_renderer", None), renderers.BrowsableAPIRenderer):
        return
    request.accepted_renderer = renderers.JSONRenderer()
    request.accepted_media_type = renderers.JSONRenderer.media_type


# -- Django's own error views (icebox.urls handler400/403/404/500) ------------------------------


def bad_request(request, exception=None):
    return JsonResponse({"detail": "bad request", "code": "bad_request"}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"detail": "permission denied", "code": "permission_denied"}, status=403)


def not_found(request, exception=None):
    return JsonResponse({"detail": f"no such resource: {request.path}", "code": "not_found"}, status=404)


def server_error(request):
    return JsonResponse(SERVER_ERROR, status=500)
