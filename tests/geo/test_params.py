import pytest

from core.exceptions import InvalidParameter
from geo.params import parse_bbox, parse_region, parse_tile


def test_bbox_is_minlon_minlat_maxlon_maxlat():
    [env] = parse_bbox("5,40,6.5,41")
    assert env.extent == (5.0, 40.0, 6.5, 41.0)
    assert env.srid == 4326


def test_bbox_crossing_the_antimeridian_becomes_two_boxes():
    east, west = parse_bbox("170,-10,-170,10")
    assert east.extent == (170.0, -10.0, 180.0, 10.0)
    assert west.extent == (-180.0, -10.0, -170.0, 10.0)


@pytest.mark.parametrize(
    "text,message",
    [
        ("1,2,3", "4 numbers"),
        ("1,2,3,4,5", "4 numbers"),
        ("a,2,3,4", "4 numbers"),
        ("0,50,1,40", "minlat 50.0 is greater than maxlat 40.0"),
        ("-181,0,1,1", "minlon=-181 is outside -180..180"),
        ("0,-91,1,1", "minlat=-91 is outside -90..90"),
        ("nan,0,1,1", "minlon=nan"),
        ("", "4 numbers"),
    ],
)
def test_bad_bbox_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(InvalidParameter) as err:
        parse_bbox(text)
    assert message in err.value.message


def test_tile_becomes_its_envelope():
    env = parse_tile("1/1/0")
    assert env.extent == pytest.approx((0.0, 0.0, 180.0, 85.0511287798))


@pytest.mark.parametrize(
    "text", ["1/2", "a/b/c", "1/-1/0", "3/8/0", "30/0/0", "1/0/0/0", "²/0/0", "٣/0/0", "1/٠/0", " 1/0/0", "+1/0/0", pytest.param("9" * 5000 + "/0/0", id="5000-digit-zoom"), pytest.param("0/0/" + "9" * 30, id="30-digit-y")]
)
def test_bad_tile_is_refused(text):
    with pytest.raises(InvalidParameter) as err:
        parse_tile(text)
    assert "tile" in err.value.message


def test_region_accepts_wkt_geojson_geometry_and_feature():
    wkt = parse_region("POLYGON((0 0, 1 0, 1 1, 0 0))")
    geometry = parse_region('{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}')
    feature = parse_region('{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}')
    assert wkt.equals(geometry) and geometry.equals(feature)
    assert wkt.srid == 4326


@pytest.mark.parametrize(
    "text,message",
    [
        ("POINT(1 1)", "must be a Polygon or MultiPolygon, got a Point"),
        ("POLYGON((0 0, 1 0", "neither valid WKT nor GeoJSON"),
        ('{"type":"Polygon"', "neither valid WKT nor GeoJSON"),
        ('{"type":"FeatureCollection","features":[]}', "got 'FeatureCollection'"),
        ('{"type":"Polygon","coordinates":"x"}', "neither valid WKT nor GeoJSON"),
        ("POLYGON((0 0, 2 2, 2 0, 0 2, 0 0))", "not a valid polygon"),
        ("POLYGON((0 0, 500 0, 500 500, 0 0))", "outside -180..180"),
        ("SRID=3857;POLYGON((0 0, 1 0, 1 1, 0 0))", "EPSG:4326"),
        ("   ", "region is empty"),
    ],
)
def test_bad_region_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(InvalidParameter) as err:
        parse_region(text)
    assert message in err.value.message


def test_oversized_region_is_refused():
    with pytest.raises(InvalidParameter, match="characters long"):
        parse_region("x" * 300_000)


def test_region_accepts_a_geojson_multipolygon_with_holes():
    region = parse_region(
        '{"type":"MultiPolygon","coordinates":[[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[2,1],[2,2],[1,2],[1,1]]],'
        '[[[10,10],[11,10],[11,11],[10,10]]]]}'
    )
    assert region.geom_type == "MultiPolygon"
    assert region.area == pytest.approx(16 - 1 + 0.5)
