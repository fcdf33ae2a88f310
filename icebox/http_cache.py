"""The read path of every artifact endpoint, and HTTP caching: ETag, Cache-Control and 304 Not Modified.

An artifact never changes after import (its bytes are identified by sha256), so a response is
identified by the artifact, what the request asked for, and the version of the representation.
The check runs before any feature query: a revalidation costs one indexed row read.
Responses are per user (another user's artifact is 404), hence `private`.
"""

from __future__ import annotations

import hashlib
from typing import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers

from icebox.selectors import ReadableArtifact, readable_artifact

# Bump when the bytes served for the same artifact and query change (a new output format).
# 2: tiles thinned on one grid over the world, 32-unit cells (geo.thinning), features in idx order.
REPRESENTATION_VERSION = "2"


def artifact_etag(request, artifact) -> str:
    """A strong ETag for `request` on `artifact`: sha256, the path and the normalised query."""
    query = urlencode(sorted((key, value) for key, values in request.GET.lists() for value in values))
    # The host is part of it because TileJSON and OGC documents carry absolute URLs.
    key = "\n".join([REPRESENTATION_VERSION, artifact.sha256, str(artifact.pk), artifact.name, request.get_host(), request.path, query])
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def not_modified(request, etag: str):
    """A 304 response if the client's If-None-Match holds `etag`, else None."""
    # META, not request.headers: that builds a mapping of every header, on every tile request.
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return None
    # Weak comparison (RFC 9110 13.1.2): GZipMiddleware turns our ETag into W/"..." on compressed responses.
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in tags or etag in tags:
        return with_cache_headers(HttpResponseNotModified(), etag)
    return None


def with_cache_headers(response, etag: str):
    response["ETag"] = etag
    response["Cache-Control"] = f"private, max-age={settings.ICEBOX_CACHE_MAX_AGE}"
    patch_vary_headers(response, ["Authorization"])
    return response


def artifact_read(request, artifact_id, answer: Callable[[ReadableArtifact], HttpResponse]) -> HttpResponse:
    """What every read of one artifact does first: find the artifact the user may read (NotFound
    otherwise, like a missing one), answer 304 when the client holds this response already, else
    `answer(readable)` with the cache headers. Parse what can be refused before calling it."""
    readable = readable_artifact(user=request.user, artifact_id=artifact_id)
    return cached(request, artifact_etag(request, readable.artifact), lambda: answer(readable))


def cached(request, etag: str, answer: Callable[[], HttpResponse]) -> HttpResponse:
    """A 304 when the client's If-None-Match holds `etag` (`answer` is not called), else `answer()` with the cache headers."""
    return not_modified(request, etag) or with_cache_headers(answer(), etag)
