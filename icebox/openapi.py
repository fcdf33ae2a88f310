"""The OpenAPI description of the REST API (drf-spectacular): every error an operation can answer.

Each operation declares, besides its own responses, the errors `icebox.api_errors` answers for
any request (a bad parameter or Host, no credentials, no such resource, no acceptable media
type, throttled, a server error), all with the one `Error` body; writes add 403 (a session
without its CSRF token) and 415.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words a user can act on")
    code = serializers.CharField(help_text="Stable machine-readable kind: invalid_parameter, invalid_file, not_found, not_authenticated...")
    file = serializers.CharField(required=False, help_text="invalid_file: the refused file (zip/member for a zip)")
    line = serializers.IntegerField(required=False, allow_null=True, help_text="invalid_file: the line of the file, when there is one")

    class Meta:
        ref_name = "Error"


_ANY = {
    "400": "Invalid parameter, body or Host",
    "404": "Not found, or not yours",
    "406": "No acceptable representation for the Accept header",
    "429": "Too many requests: wait for Retry-After seconds",
    "500": "Server error (logged)",
}
_AUTHENTICATED = {"401": "No or invalid credentials (send Authorization: Token <key>, or Basic with the token as password)"}
_WRITE = {"403": "Not allowed (staff only, or a session request without its CSRF token)", "415": "Unsupported request media type"}


class BasicTokenScheme(OpenApiAuthenticationExtension):
    """Declares icebox.authentication's Basic (name and API token) as a security scheme."""

    target_class = "icebox.authentication.BasicTokenAuthentication"
    name = "basicToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic: your user name, and your API token (POST /api/token) as the password. "
            "The account password is refused. Over HTTPS only.",
        }


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, direction).ref}}
        for code, description in sorted(self._error_statuses().items()):
            responses.setdefault(code, {"description": description, "content": error})
        return responses

    def _error_statuses(self) -> dict[str, str]:
        # A wrong token is a 401 even where no token is needed (DRF authenticates first).
        statuses = {**_ANY, **_AUTHENTICATED}
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            statuses.update(_WRITE)
        permissions = self.view.get_permissions()
        if not permissions or any(isinstance(permission, AllowAny) for permission in permissions):
            statuses.pop("404")
        return statuses
