"""Share management, the owner's only: list, add and revoke the shares of an artifact or a calculation.

These are the generic views; the packages that own the targets subclass them with `target()`,
the lookup of the owner's own artifact or calculation (artifacts.views, engine.views), so that
sharing depends on neither.

A user it is shared with gets 403 read_only (they can read it, so it is no secret that it exists,
but they neither see the other grantees nor change anything); anyone else gets 404, like a missing id.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidParameter
from sharing import selectors, services
from sharing.serializers import ShareRequestSerializer, ShareSerializer


def _grantee_fields(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidParameter('send a JSON object: {"user": "bob"}, {"group": "modellers"} or {"everyone": true}')
    unknown = sorted(set(data) - set(services.GRANTEE_FIELDS))
    if unknown:
        raise InvalidParameter(f"unknown field(s) {', '.join(unknown)}; accepted: {', '.join(services.GRANTEE_FIELDS)}")
    return {k: data[k] for k in services.GRANTEE_FIELDS if k in data}


class SharesView(generics.ListAPIView):
    serializer_class = ShareSerializer
    parser_classes = [JSONParser]

    def target(self) -> dict:
        """{"artifact": ...} or {"calculation": ...}: the request user's own, from the URL."""
        raise NotImplementedError

    def get_queryset(self):
        return selectors.share_list(**self.target())

    @extend_schema(
        request=ShareRequestSerializer,
        responses={201: ShareSerializer, 200: OpenApiResponse(ShareSerializer, description="already shared with that grantee: the existing share")},
    )
    def post(self, request, **kwargs):
        target = self.target()
        share, created = services.share_create(sharer=request.user, **target, **_grantee_fields(request.data))
        body = ShareSerializer(share, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK, headers={"Location": body["url"]})


class ShareDetailView(APIView):
    def target(self) -> dict:
        """{"artifact": ...} or {"calculation": ...}: the request user's own, from the URL."""
        raise NotImplementedError

    @extend_schema(responses={204: OpenApiResponse(description="revoked")})
    def delete(self, request, share_id: int, **kwargs):
        share = selectors.share_get(share_id=share_id, **self.target())
        services.share_revoke(sharer=request.user, share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)
