"""Token authentication, and HTTP Basic where the password is the user's API token, for clients that cannot send `Token`.

Both look the token and its user up with one statement of fixed text (icebox.model_rows) on
every request, so a deleted token or a deactivated user is refused from the next request on:
nothing about a token is remembered between requests.


QGIS 3.22 (Debian 12) knows Basic, EsriToken and PKI, not a custom `Authorization: Token`
header, so it could not open Icebox. Here Basic carries `name:token`: the account password is
never accepted (a stolen Basic header is only a revocable token, and no password is hashed per
request). Like a token, it belongs behind HTTPS: Basic is only base64.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from core.prepared import execute_prepared
from icebox import model_rows

REALM = "icebox"

# Compared against when the name has no token, so that a wrong name costs what a wrong token does.
_NO_TOKEN = "0" * 40


@cache
def _token_user_sql(by: str) -> str:
    """The token and its user, by the token's key (`by` = "key") or by the user's name (`by` = "name")."""
    User = get_user_model()
    quote = connection.ops.quote_name
    user_key = quote(Token._meta.get_field("user").column)
    where = f't.{quote("key")} = %s' if by == "key" else f"u.{quote(User._meta.get_field(User.USERNAME_FIELD).column)} = %s"
    return (
        f"SELECT {model_rows.select_list(Token, 't')}, {model_rows.select_list(User, 'u')}"
        f" FROM {model_rows.table(Token)} t JOIN {model_rows.table(User)} u ON u.{quote(User._meta.pk.column)} = t.{user_key}"
        f" WHERE {where}"
    )


def _token_user(by: str, value: str) -> Token | None:
    """The token (with its user attached, as select_related would) or None."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, f"token_user_by_{by}", _token_user_sql(by), [value])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(Token._meta.concrete_fields)
    token = model_rows.instance(Token, row[:n])
    token.user = model_rows.instance(get_user_model(), row[n:])
    return token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, with the lookup as one fixed statement (same answers, same messages)."""

    def authenticate_credentials(self, key):
        token = _token_user("key", key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token


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
        found = _token_user("name", username)
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
