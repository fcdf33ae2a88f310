"""The OpenAPI description of the /site answers (drf-spectacular); the bodies are built by geo.sites."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from geo import interpolation, sites

_NUMBERS = serializers.ListField(child=serializers.FloatField())


class _Point(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()


class _Site(serializers.Serializer):
    id = serializers.IntegerField(help_text="the site's row index in the engine's files")
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    distance_km = serializers.FloatField(help_text="great-circle distance from the point")


class _CalculationSite(_Site):
    custom_site_id = serializers.CharField(allow_null=True)
    depth = serializers.FloatField(required=False)


class _WeightedSite(_Site):
    weight = serializers.FloatField()


class _Interpolation(serializers.Serializer):
    method = serializers.CharField()
    sites = _WeightedSite(many=True)


class _Values(serializers.Serializer):
    artifact = serializers.IntegerField()
    file_name = serializers.CharField()
    kind = serializers.CharField(required=False, help_text="mean, rlz-000, quantile-0.15...")
    investigation_time = serializers.FloatField(required=False)


class _Curve(_Values):
    imt = serializers.CharField()
    imls = _NUMBERS
    poes = serializers.ListField(child=serializers.FloatField())


class _Spectrum(_Values):
    poe = serializers.FloatField()
    imts = serializers.ListField(child=serializers.CharField())
    periods = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="PGA is 0, SA(T) is T")
    values = serializers.ListField(child=serializers.FloatField())


class _MapValue(serializers.Serializer):
    imt = serializers.CharField()
    poe = serializers.FloatField(allow_null=True, help_text="null for maps named by their return period")
    iml = serializers.FloatField()


class _Map(_Values):
    return_period = serializers.IntegerField(required=False)
    values = _MapValue(many=True)


class CalculationSiteSerializer(serializers.Serializer):
    calculation = serializers.IntegerField()
    point = _Point()
    site = _CalculationSite(allow_null=True, help_text="null when interpolated")
    interpolation = _Interpolation(required=False)
    hazard_curves = _Curve(many=True)
    uhs = _Spectrum(many=True)
    hazard_maps = _Map(many=True)
    site_model = serializers.DictField(
        allow_null=True,
        help_text="the site parameters at the point: the stored site model's nearest site (`source` 'site model', `artifact`, `site`, "
        "then every column of the file: vs30, z1pt0, ...), else the job's reference site conditions (vs30, vs30_type, z1pt0, z2pt5)",
    )


class _Geometry(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class ArtifactSiteSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField(allow_null=True, help_text="the site's row index; null when interpolated")
    geometry = _Geometry()
    properties = serializers.DictField(help_text="every data column under its header name")
    artifact = serializers.IntegerField()
    distance_km = serializers.FloatField(required=False)
    interpolation = _Interpolation(required=False)


SITE_PARAMETERS = [
    OpenApiParameter("lon", {"type": "number", "minimum": -180, "maximum": 180}, required=True, description="longitude of the point (decimal degrees)"),
    OpenApiParameter("lat", {"type": "number", "minimum": -90, "maximum": 90}, required=True, description="latitude of the point (decimal degrees)"),
    OpenApiParameter(
        "max_distance_km",
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": sites.MAX_DISTANCE_KM},
        description=f"404 when no site is this close (on the sphere); default {sites.DEFAULT_MAX_DISTANCE_KM:g}",
    ),
    OpenApiParameter(
        "interpolate", {"type": "string", "enum": ["true", "false"]},
        description=f"true: the values at the point itself, from the {sites.INTERPOLATION_SITES} nearest sites ({interpolation.METHOD})",
    ),
]
