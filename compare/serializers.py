"""The documented shape of a comparison summary (drf-spectacular reads it; the selector builds the dict)."""

from rest_framework import serializers


class _Range(serializers.Serializer):
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)


class _ColumnSummary(serializers.Serializer):
    difference = _Range(help_text="b − a over the matched sites")
    ratio = _Range(help_text="b / a over the matched sites where a is not 0")


class ComparisonSummarySerializer(serializers.Serializer):
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    match_by = serializers.ChoiceField(choices=["custom_site_id", "coordinates"])
    tolerance_km = serializers.FloatField(allow_null=True, help_text="null when matched by custom_site_id")
    matched = serializers.IntegerField()
    only_a = serializers.IntegerField()
    only_b = serializers.IntegerField()
    max_distance_km = serializers.FloatField(allow_null=True, help_text="the farthest matched pair; null if none matched")
    columns = serializers.DictField(child=_ColumnSummary(), help_text="per compared data column")
