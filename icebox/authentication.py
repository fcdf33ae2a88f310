"""HTTP Basic where the password is the user's API token, for clients that cannot send `Token`.

QGIS 3.22 (Debian 12) knows Basic, EsriToken and PKI, not a custom `Authorization: Token`
header, so it could not open Icebox. Here Basic carries `name:token`: the account password is
never accepted (a stolen Basic header is only a revocable token, and no password is hashed per
request). Like a token, it belongs behind HTTPS: Basic is only base64.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from django.contrib.auth import get_user_model
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

REALM = "icebox"

# Compared against when the name has no token, so that a wrong name costs what a wrong token does.
_NO_TOKEN = "0" * 40


class BasicAuthenticationFailed(exceptions.AuthenticationFailed):
    """A refused Basic header: answered with a Basic challenge (icebox.api_errors)."""

    auth_header = f'Basic realm="{REALM}"'


class BasicTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Basic base64(<username>:<API token>)`."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise BasicAuthenticationFailed("invalid Basic header: expected 'Basic <base64 of name:token>'")
        username, token = _credentials(header[1])
        return self._user_for(username, token)

    def _user_for(self, username: str, token: str):
        field = get_user_model().USERNAME_FIELD
        found = Token.objects.select_related("user").filter(**{f"user__{field}": username}).first()
        matches = hmac.compare_digest((found.key if found else _NO_TOKEN).encode(), token.encode())
        if found is None or not matches:
            raise BasicAuthenticationFailed("invalid name or token (the password is your API token, not your account password)")
        if not found.user.is_active:
            raise BasicAuthenticationFailed("user inactive or deleted")
        return found.user, found

    def authenticate_header(self, request):
        return BasicAuthenticationFailed.auth_header


def _credentials(encoded: bytes) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BasicAuthenticationFailed("invalid Basic header: not base64 of UTF-8 text") from None
    username, colon, token = decoded.partition(":")
    if not colon or not username or not token:
        raise BasicAuthenticationFailed("invalid Basic header: expected base64 of 'name:token'")
    return username, token
