"""Absolute links that page through a response: the same request with another offset."""

from __future__ import annotations

from urllib.parse import urlencode


def with_query(request, **changes) -> str:
    """The absolute URL of `request` with the query parameters in `changes` set (None removes one)."""
    params = [(key, value) for key, values in request.GET.lists() for value in values if key not in changes]
    params += [(key, str(value)) for key, value in changes.items() if value is not None]
    query = urlencode(params, safe=",()/")
    return request.build_absolute_uri(request.path) + ("?" + query if query else "")
