"""Equality filters: which columns filter, how values are read, what is refused."""

import pytest
from django.http import QueryDict

from core.exceptions import InvalidParameter
from geo.filters import filterable_columns, index_statements, parse_filters

METADATA = {
    "columns": [
        {"name": "event_id", "dtype": "int"},
        {"name": "gmv_PGA", "dtype": "float"},
        {"name": "loss_type", "dtype": "text"},
        {"name": "custom_site_id", "is_text": True},  # stored before dtypes existed
    ]
}
KIND_FILTERABLE = ("event_id", "loss_type", "custom_site_id", "rlz_id")


def parse(query, accepted=("limit",)):
    return parse_filters(QueryDict(query), filterable=filterable_columns(METADATA, KIND_FILTERABLE), accepted=accepted)


def test_filterable_columns_are_the_kinds_that_the_file_has_with_their_types():
    assert filterable_columns(METADATA, KIND_FILTERABLE) == {"event_id": "int", "loss_type": "text", "custom_site_id": "text"}
    assert filterable_columns({}, KIND_FILTERABLE) == {}


def test_values_are_read_by_the_columns_type():
    assert parse("event_id=3&loss_type=structural&limit=10") == {"event_id": 3, "loss_type": "structural"}
    assert parse("event_id=-2") == {"event_id": -2}
    assert parse("custom_site_id=007") == {"custom_site_id": "007"}
    assert parse("") == {}


@pytest.mark.parametrize(
    "query, message",
    [
        ("event_id=3.0", "event_id is an integer column: event_id= takes an integer in ASCII digits, got '3.0'"),
        ("event_id=%D9%A3", "takes an integer in ASCII digits, got '٣'"),
        ("event_id=", "got ''"),
        ("event_id=1&event_id=2", "event_id is given 2 times: give one value per column"),
        ("eventid=3", "unknown parameter or filter column 'eventid': this endpoint takes limit, and filters on event_id (int), loss_type (text), custom_site_id (text)"),
        # A column the file has, not declared filterable by its kind.
        ("gmv_PGA=0.1", "unknown parameter or filter column 'gmv_PGA'"),
        # A column the kind declares, that this file has not.
        ("rlz_id=0", "unknown parameter or filter column 'rlz_id'"),
    ],
)
def test_bad_filters_are_refused_with_a_message(query, message):
    with pytest.raises(InvalidParameter) as error:
        parse(query)
    assert message in error.value.message


def test_an_artifact_without_filterable_columns_says_so():
    with pytest.raises(InvalidParameter, match="unknown parameter 'x': this endpoint takes limit, offset; this artifact has no filterable column"):
        parse_filters(QueryDict("x=1"), filterable={}, accepted=("offset", "limit"))


def test_number_and_bool_columns():
    filterable = {"mag": "float", "flag": "bool"}
    assert parse_filters(QueryDict("mag=5.5&flag=true"), filterable=filterable, accepted=()) == {"mag": 5.5, "flag": True}
    for query in ("mag=nan", "mag=1e400", "flag=1"):
        with pytest.raises(InvalidParameter):
            parse_filters(QueryDict(query), filterable=filterable, accepted=())


def test_one_index_per_filterable_column():
    statements = index_statements(table='"geo_feature_7"', index_prefix="geo_feature_7", columns=["event_id", "rlz_id"], quote_name=lambda n: f'"{n}"')
    assert statements == [
        ('CREATE INDEX "geo_feature_7_f0" ON "geo_feature_7" ((properties -> %s))', ["event_id"]),
        ('CREATE INDEX "geo_feature_7_f1" ON "geo_feature_7" ((properties -> %s))', ["rlz_id"]),
    ]
