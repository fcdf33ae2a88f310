"""gzip of responses, at a speed that keeps a compressed map read close to an uncompressed one.

Django's GZipMiddleware compresses with zlib at level 6: on a 2 MB FeatureCollection that cost
as much again as the whole request (PERF-NOTES.md). Here the data Icebox serves (GeoJSON, JSON,
vector tiles, CSV) is gzipped by ISA-L (`isal`, from PyPI) at its level 1, several times faster
than zlib at any level for a size between zlib's levels 1 and 6. Every browser sends gzip, also
over plain HTTP, where they offer no zstd or brotli: one fast gzip serves them all.

Negotiation follows RFC 9110 12.5.3: `gzip` (or `x-gzip`, or `*` when gzip is not named) with a
q-value above 0; otherwise the body goes as it is. `Vary: Accept-Encoding` is set on every
response that could have been compressed, whichever way it went, so a cache never hands a gzip
body to a client that did not ask for it. A compressed response's ETag becomes weak (`W/"..."`):
its bytes differ from the identity body's, and If-None-Match compares weakly
(icebox.http_cache.not_modified), so either one revalidates.

Pages a person reads (HTML: the admin, the browsable API, which hold CSRF tokens) keep Django's
own GZipMiddleware, with its BREACH mitigation; they are not on any hot path.
"""

from __future__ import annotations

from django.middleware.gzip import GZipMiddleware
from django.utils.cache import patch_vary_headers
from isal import isal_zlib

# ISA-L's fastest level with Huffman coding tuned to the data (0 is faster but larger on JSON).
LEVEL = 1
# Below this a body is not worth a gzip header and trailer (Django's own threshold).
MIN_SIZE = 200
# The data responses (application/json covers its +json and OpenAPI variants by the prefix).
_DATA_TYPES = ("application/json", "application/geo+json", "application/vnd.mapbox-vector-tile", "application/vnd.oai.openapi", "text/csv")


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header value allows gzip (RFC 9110 12.5.3: q=0 refuses)."""
    named, star = None, None
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0  # a malformed weight is no consent
        if coding in ("gzip", "x-gzip"):
            named = max(named or 0.0, q)
        elif coding == "*":
            star = q
    if named is not None:
        return named > 0
    return star is not None and star > 0


def _gzip_stream(chunks):
    compressor = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    for chunk in chunks:
        # A sync flush per chunk: the client can decode (and a map client draw) what has arrived.
        out = compressor.compress(chunk) + compressor.flush(isal_zlib.Z_SYNC_FLUSH)
        if out:
            yield out
    yield compressor.flush(isal_zlib.Z_FINISH)


def _gzip(data: bytes) -> bytes:
    compressor = isal_zlib.compressobj(LEVEL, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(isal_zlib.Z_FINISH)


class CompressionMiddleware(GZipMiddleware):
    """GZipMiddleware's rules, ISA-L level 1 for data responses, proper q-value negotiation."""

    def process_response(self, request, response):
        # A response that serves byte ranges (an artifact's raw bytes) goes as it is, whatever its
        # type: its ranges and Content-Length address the stored bytes, and gzip would change both.
        if response.has_header("Accept-Ranges"):
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if not content_type.startswith(_DATA_TYPES):
            return super().process_response(request, response)
        if response.has_header("Content-Encoding"):
            return response
        if not response.streaming and len(response.content) < MIN_SIZE:
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        if response.streaming:
            response.streaming_content = _gzip_stream(response.streaming_content)
            del response.headers["Content-Length"]
        else:
            compressed = _gzip(response.content)
            if len(compressed) >= len(response.content):
                return response
            response.content = compressed
            response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response
