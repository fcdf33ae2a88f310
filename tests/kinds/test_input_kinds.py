"""The input kinds (source_model, rupture_model, exposure_model, logic_tree, sites, site_model) on real job inputs."""

from __future__ import annotations

import gzip
import json
import math

import pytest

import kinds
from kinds import fault_geometry, input_archive, nrml
from kinds.base import ParseError, Shape

from tests.kinds.test_input_archive import job_files

LIMIT = 10_000_000


def tables_of(job: str) -> dict:
    export = input_archive.read_files(job_files(job)).export(job)
    return {file.name: kinds.read_file(file, export, max_uncompressed=LIMIT) for file in export.files}


def rows_of(table) -> list[tuple]:
    names = [column.name for column in table.columns]
    return [(geometry, dict(zip(names, values))) for geometry, values in table.rows()]


def test_a_source_model_draws_each_source_with_its_attributes():
    table = tables_of("classical_case_36")["source_model.xml"]
    rows = rows_of(table)

    assert table.artifact_type == "source_model" and table.geometry == "mixed"
    assert table.metadata["sources"] == 4 and table.metadata["nrml_version"] == "0.4"
    assert [(row["id"], row["code"], row["part"]) for _, row in rows] == [
        ("1", "S", "trace"), ("1", "S", "surface_projection"), ("2", "C", "edges"), ("3", "P", "point"), ("4", "A", "area")]
    trace, projection, edges, point, area = (geometry for geometry, _ in rows)
    assert trace == Shape("LineString", ((1.0, -0.5), (1.4, 0.0), (1.4, 0.3)))
    assert edges == Shape("MultiLineString", (((0.6, -0.8), (1.0, -0.4), (1.0, 0.2)), ((0.8, -0.8), (1.2, -0.4), (1.2, 0.2))))
    assert point == (0.5, -0.5)
    assert area == Shape("Polygon", (((-0.5, -1.5), (1.5, -1.5), (1.5, 0.5), (-0.5, 0.5), (-0.5, -1.5)),))
    fault = rows[0][1]
    assert (fault["dip"], fault["upperSeismoDepth"], fault["lowerSeismoDepth"], fault["rake"]) == (30.0, 0.0, 15.0, 90.0)
    assert (fault["mfd"], fault["aValue"], fault["bValue"], fault["minMag"], fault["maxMag"]) == (
        "truncGutenbergRichterMFD", 3.2, 0.9, 6.5, 7.5)
    assert json.loads(fault["aspectRatioFunction"])["type"] == "linear_piecewise"
    assert json.loads(rows[3][1]["nodalPlaneDist"]) == [{"probability": 1.0, "strike": 0.0, "dip": 90.0, "rake": 0.0}]
    assert json.loads(rows[3][1]["hypoDepthDist"]) == [{"probability": 1.0, "depth": 7.5}]
    assert json.loads(rows[2][1]["edges_depths"]) == [[5.0, 5.0, 5.0], [20.0, 20.0, 20.0]]
    assert rows[3][1]["dip"] is None  # a point source has no dip: null, not 0


def test_a_simple_faults_projection_runs_down_dip_from_the_trace():
    (projection,) = [geometry for geometry, row in rows_of(tables_of("classical_case_36")["source_model.xml"])
                     if row["part"] == "surface_projection"]
    (ring,) = projection.coordinates
    top, bottom = ring[:3], ring[3:6][::-1]
    # upperSeismoDepth 0: the top edge is the trace; lowerSeismoDepth 15 at dip 30: 15 / tan(30°) = 25.98 km away
    assert all(math.isclose(a, b, abs_tol=1e-9) for p, q in zip(top, [(1.0, -0.5), (1.4, 0.0), (1.4, 0.3)]) for a, b in zip(p, q))
    for (lon, lat), (blon, blat) in zip(top, bottom):
        distance = 2 * 6371 * math.asin(math.sqrt(math.sin(math.radians(blat - lat) / 2) ** 2 + math.cos(math.radians(lat))
                                                  * math.cos(math.radians(blat)) * math.sin(math.radians(blon - lon) / 2) ** 2))
        assert math.isclose(distance, 15 / math.tan(math.radians(30)), rel_tol=1e-9)
    assert ring[0] == ring[-1]


@pytest.mark.parametrize("job, name, expected", [
    ("event_based_case_28", "ssm00.xml", [("1", "A", "area", "group 1")]),
    ("classical_case_10", "source_model_ac_mfd.xml", [("002", "A", "area", "group1"), ("001", "X", "surface", "group1")]),
    ("classical_case_09", "PEERInterface_Characteristic.xml", [("PEERS3C3_TOR", "X", "edges", "group 1")]),
    ("classical_case_18", "point_source.xml", [("VICM", "P", "point", "")]),
])
def test_nrml_0_5_groups_characteristic_sources_and_point_sources(job, name, expected):
    rows = rows_of(tables_of(job)[name])

    assert [(row["id"], row["code"], row["part"], row["sourceGroup"]) for _, row in rows] == expected
    assert all(row["tectonicRegion"] for _, row in rows)


def test_multi_point_sources_are_multipoints():
    tables = tables_of("classical_case_22")
    rows = rows_of(tables["extra_source_model.xml"])

    assert {row["code"] for _, row in rows} == {"M"}
    assert all(geometry.type == "MultiPoint" and len(geometry.coordinates) > 1 for geometry, _ in rows)


def test_a_scenario_rupture_is_its_trace_its_projection_and_its_hypocenter():
    table = tables_of("scenario_damage_case_13")["earthquake_rupture.xml"]
    rows = rows_of(table)

    assert [row["part"] for _, row in rows] == ["trace", "surface_projection", "hypocenter"]
    assert rows[0][0] == Shape("LineString", ((41.749493, 42.022663), (41.804614, 42.045204), (41.98125, 42.068533)))
    assert rows[2][0] == (41.8677, 41.9635)
    assert (rows[0][1]["magnitude"], rows[0][1]["rake"], rows[0][1]["dip"]) == (6.5, 90.0, 45.0)
    assert table.metadata["hypocenter"] == [41.8677, 41.9635, 10.0]


def test_an_exposure_model_is_its_csv_assets_with_every_column():
    table = tables_of("scenario_damage_case_13")["Exposure.xml"]

    assert table.artifact_type == "exposure_model"
    assert [(c.name, c.dtype) for c in table.columns] == [("id", "text"), ("taxonomy", "text"), ("number", "float"),
                                                          ("total_repl_value", "float"), ("night", "float"), ("NAME_1", "text")]
    assert list(table.rows()) == [((44.9629, 42.1066), ("s1", "MUR-CLBRS-LWAL-HBET-1;2/GOV2", 100.0, 1.0, 23.0, "GE"))]
    assert table.metadata["fields"] == {"total_repl_value": "structural"}
    assert table.metadata["csv_files"] == ["OQ_exposure_model.csv"]


def test_an_exposure_with_inline_assets():
    data = b"""<?xml version="1.0"?>
<nrml xmlns="http://openquake.org/xmlns/nrml/0.4">
  <exposureModel id="ex" category="buildings" taxonomySource="GEM">
    <conversions><costTypes><costType name="structural" type="aggregated" unit="EUR"/></costTypes></conversions>
    <occupancyPeriods>night</occupancyPeriods>
    <tagNames>region</tagNames>
    <assets>
      <asset id="a1" number="2" taxonomy="RC"><location lon="10.5" lat="45.1"/>
        <costs><cost type="structural" value="1000"/></costs><occupancies><occupancy occupants="4" period="night"/></occupancies>
        <tags region="north"/></asset>
    </assets>
  </exposureModel>
</nrml>"""
    export = kinds.base.Export(files=[kinds.base.ExportFile("ex.xml", data)], output_type="input", roles={"ex.xml": "exposure"})

    table = kinds.read_file(export.files[0], export, max_uncompressed=LIMIT)

    assert [c.name for c in table.columns] == ["id", "taxonomy", "number", "structural", "night", "region"]
    assert list(table.rows()) == [((10.5, 45.1), ("a1", "RC", 2.0, 1000.0, 4.0, "north"))]


def test_a_real_inline_exposure_keeps_an_asset_without_its_cost_as_null():
    table = tables_of("scenario_risk_case_3")["exposure_model.xml"]

    assert [c.name for c in table.columns] == ["id", "taxonomy", "number", "structural"]
    assert list(table.rows()) == [((81.2985, 29.1098), ("a1", "RM", 3.0, 1000.0)), ((83.082298, 27.9006), ("a2", "RC", 500.0, 4.0)),
                                  ((85.747703, 27.9015), ("a3", "W", 1000.0, 1.0)), ((85.747, 27.9), ("a4", "W", 800.0, None))]
    assert table.metadata["cost_types"] == [{"name": "structural", "type": "per_asset", "unit": "USD"}]


def test_logic_trees_are_their_branches_with_weights():
    tables = tables_of("classical_case_18")
    gsim = tables["nbc_asc_logic_tree.xml"]

    assert gsim.artifact_type == "logic_tree" and gsim.geometry is None
    assert [(row["branchID"], row["uncertaintyWeight"], row["uncertaintyType"]) for _, row in rows_of(gsim)] == [
        ("b11", 0.16, "gmpeModel"), ("b12", 0.68, "gmpeModel"), ("b13", 0.16, "gmpeModel")]
    assert rows_of(gsim)[0][1]["uncertaintyModel"] == '[GMPETable]\ngmpe_table = "./Wcrust_low_rhypo.hdf5"'
    tree = gsim.metadata["logic_tree"]
    assert tree["logicTreeID"] == "lt1" and tree["branchSets"][0]["applyToTectonicRegionType"] == "Active Shallow Crust"
    assert [row["uncertaintyModel"] for _, row in rows_of(tables["source_model_logic_tree.xml"])] == ["point_source.xml"]


def test_a_jobs_sites_and_site_model_are_points():
    sites = tables_of("classical_case_18")["vancouver_school_sites.csv"]
    site_model = tables_of("scenario_damage_case_13")["Site_model_one_location.csv"]

    assert sites.artifact_type == "sites" and list(sites.rows())[0] == ((-123.237384, 49.274792), ())
    assert site_model.artifact_type == "site_model"
    assert list(site_model.rows()) == [((44.958, 42.096), (411.503, 341.365, 1.224, 0))]


@pytest.mark.parametrize("replace, message", [
    (b"<dip>30.0</dip>", "source_model.xml: line 14: <dip>: 'steep' is not a number"),
    (b"1.0 -0.5 1.4 0.0 1.4 0.3", "source_model.xml: line 10: <posList>: 5 numbers, expected a multiple of 2 (lon lat per point)"),
    (b'<pointSource id="3"', "source_model.xml: line 62: source id '1' is given twice"),
    (b"-0.5 -1.5 1.5 -1.5 1.5 0.5", "source_model.xml: line 95: <posList>: point (-0.5, 200.0) is not a longitude and latitude"),
])
def test_a_malformed_source_is_refused_naming_the_line(replace, message):
    data = job_files("classical_case_36")["source_model.xml"]
    broken = {b"<dip>30.0</dip>": b"<dip>steep</dip>", b"1.0 -0.5 1.4 0.0 1.4 0.3": b"1.0 -0.5 1.4 0.0 1.4",
              b'<pointSource id="3"': b'<pointSource id="1"', b"-0.5 -1.5 1.5 -1.5 1.5 0.5": b"-0.5 200 1.5 -1.5 1.5 0.5"}[replace]
    export = kinds.base.Export(files=[kinds.base.ExportFile("source_model.xml", data.replace(replace, broken))],
                               output_type="input", roles={"source_model.xml": "source_model"})

    with pytest.raises(ParseError) as caught:
        kinds.read_file(export.files[0], export, max_uncompressed=LIMIT)

    assert str(caught.value) == message


def test_xml_that_is_not_nrml_is_refused():
    with pytest.raises(ParseError, match=r"x.xml: line 1: not NRML: the root element is <kml> without a namespace"):
        nrml.parse(b"<kml><Placemark/></kml>", file_name="x.xml")


def test_point_at_and_azimuth_agree_with_the_sphere():
    lon, lat = fault_geometry.point_at(0.0, 0.0, 90.0, 111.19492664455873)  # one degree of the equator

    assert math.isclose(lon, 1.0, rel_tol=1e-12) and math.isclose(lat, 0.0, abs_tol=1e-12)
    assert math.isclose(fault_geometry.azimuth(0, 0, 0, 1), 0.0, abs_tol=1e-12)
    assert math.isclose(fault_geometry.azimuth(0, 0, 1, 0), 90.0, rel_tol=1e-12)


# --- what the engine's own test jobs write (shapes taken from qa_tests_data; all of them are read
# whole by tests/kinds/test_inputs_real_engine.py) ----------------------------------------------

NRML5 = b'<nrml xmlns="http://openquake.org/xmlns/nrml/0.5" xmlns:gml="http://www.opengis.net/gml">'


def read_as(role: str, files: dict[str, bytes], name: str):
    export = kinds.base.Export(files=[kinds.base.ExportFile(path, data) for path, data in files.items()],
                               output_type="input", roles={name: role})
    return kinds.read_file(export.file(name), export, max_uncompressed=LIMIT)


def test_a_logic_tree_without_namespace_branch_ids_or_with_several_trees():
    data = (b"<nrml><logicTree logicTreeID='a'><logicTreeBranchSet branchSetID='bs' uncertaintyType='gmpeModel'>"
            b"<logicTreeBranch><uncertaintyModel>BooreAtkinson2008</uncertaintyModel><uncertaintyWeight>1</uncertaintyWeight>"
            b"</logicTreeBranch></logicTreeBranchSet></logicTree>"
            b"<logicTree logicTreeID='b'><logicTreeBranchSet branchSetID='bs' uncertaintyType='gmpeModel'>"
            b"<logicTreeBranch branchID='x'><uncertaintyModel>Campbell2003</uncertaintyModel><uncertaintyWeight>1</uncertaintyWeight>"
            b"</logicTreeBranch></logicTreeBranchSet></logicTree></nrml>")
    table = read_as("gsim_logic_tree", {"lt.xml": data}, "lt.xml")

    assert [(row["logicTreeID"], row["branchID"], row["uncertaintyModel"]) for _, row in rows_of(table)] == [
        ("a", None, "BooreAtkinson2008"), ("b", "x", "Campbell2003")]
    assert table.metadata["logic_tree"]["logicTrees"] == ["a", "b"] and table.metadata["nrml_version"] is None


def test_surfaces_the_engine_draws_from_kite_gridded_and_section_geometries():
    profile = b"<profile><gml:LineString><gml:posList>10 45 0 10 45.5 10</gml:posList></gml:LineString></profile>"
    sections = NRML5 + (b"<geometryModel name='s'><section id='0' name='central'><kiteSurface>" + profile
                        + profile.replace(b"10 45", b"11 45").replace(b"10 45.5", b"11 45.5")
                        + b"</kiteSurface></section></geometryModel></nrml>")
    table = read_as("source_model", {"sections.xml": sections}, "sections.xml")
    ((geometry, row),) = rows_of(table)
    assert (row["id"], row["source_type"], row["part"]) == ("0", "section", "profiles")
    assert geometry == Shape("MultiLineString", (((10.0, 45.0), (10.0, 45.5)), ((11.0, 45.0), (11.0, 45.5))))
    assert json.loads(row["edges_depths"]) == [[0.0, 10.0], [0.0, 10.0]]

    gridded = NRML5 + (b"<sourceModel><sourceGroup name='g' tectonicRegion='Active Shallow Crust'>"
                       b"<characteristicFaultSource id='c' name='c'><arbitraryMFD><magnitudes>8.0</magnitudes>"
                       b"<occurRates>0.09</occurRates></arbitraryMFD><rake>90</rake><surface><griddedSurface>"
                       b"<gml:posList>146.387 41.84 0.5 146.387 41.798 0.3</gml:posList></griddedSurface></surface>"
                       b"</characteristicFaultSource></sourceGroup></sourceModel></nrml>")
    ((geometry, row),) = rows_of(read_as("source_model", {"sm.xml": gridded}, "sm.xml"))
    assert (row["part"], geometry) == ("points", Shape("MultiPoint", ((146.387, 41.84), (146.387, 41.798))))
    assert json.loads(row["mfd_params"]) == {"magnitudes": 8.0, "occurRates": 0.09}

    kite_rupture = NRML5 + (b"<multiPlanesRupture><magnitude>7.5</magnitude><rake>90</rake>"
                            b"<hypocenter lon='74.6' lat='42.95' depth='10'/><kiteSurface>" + profile + profile
                            + b"</kiteSurface></multiPlanesRupture></nrml>")
    rows = rows_of(read_as("rupture_model", {"r.xml": kite_rupture}, "r.xml"))
    assert [row["part"] for _, row in rows] == ["profiles", "hypocenter"]


def test_a_kite_fault_given_by_a_simple_fault_and_an_area_above_sea_level():
    kite = NRML5 + (b"<sourceModel><sourceGroup name='g' tectonicRegion='Subduction Interface'>"
                    b"<kiteFaultSource id='3' name='k'><simpleFaultGeometry><gml:LineString><gml:posList>1.0 -0.2 1.4 0.0"
                    b"</gml:posList></gml:LineString><dip>30</dip><upperSeismoDepth>0</upperSeismoDepth>"
                    b"<lowerSeismoDepth>20</lowerSeismoDepth></simpleFaultGeometry><magScaleRel>WC1994</magScaleRel>"
                    b"<ruptAspectRatio>1</ruptAspectRatio><truncGutenbergRichterMFD aValue='4' bValue='1' minMag='6' maxMag='7'/>"
                    b"<rake>90</rake></kiteFaultSource>"
                    b"<areaSource id='a' name='a'><areaGeometry><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>"
                    b"0 0 1 0 1 1</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
                    b"<upperSeismoDepth>-1.0</upperSeismoDepth><lowerSeismoDepth>6</lowerSeismoDepth></areaGeometry>"
                    b"<magScaleRel>WC1994</magScaleRel><ruptAspectRatio>1</ruptAspectRatio>"
                    b"<truncGutenbergRichterMFD aValue='4' bValue='1' minMag='5' maxMag='6'/>"
                    b"<nodalPlaneDist><nodalPlane probability='1' strike='0' dip='90' rake='0'/></nodalPlaneDist>"
                    b"<hypoDepthDist><hypoDepth probability='1' depth='3'/></hypoDepthDist></areaSource>"
                    b"</sourceGroup></sourceModel></nrml>")
    rows = rows_of(read_as("source_model", {"sm.xml": kite}, "sm.xml"))

    assert [(row["code"], row["part"]) for _, row in rows] == [("K", "trace"), ("K", "surface_projection"), ("A", "area")]
    assert rows[2][1]["upperSeismoDepth"] == -1.0


def test_sites_with_a_depth_on_some_rows_or_the_engines_metadata_row():
    some = read_as("sites", {"s.csv": b"-118.25,34.05, -1.0\n-118.43,34.22\n"}, "s.csv")
    export = read_as("sites", {"s.csv": b"#,,\"generated_by='OpenQuake engine 3.17.0'\"\ncustom_site_id,lon,lat\nab,1,2\n"},
                     "s.csv")

    assert some.geometry == "mixed" and list(some.rows()) == [((-118.25, 34.05), (-1.0,)), ((-118.43, 34.22), (None,))]
    assert list(export.rows()) == [((1.0, 2.0), ("ab",))]


def test_exposure_assets_with_undeclared_periods_text_columns_several_csvs_and_gzip():
    header = (b'<nrml xmlns="http://openquake.org/xmlns/nrml/0.4"><exposureModel id="e" category="buildings">'
              b"<conversions><costTypes><costType name='structural' type='aggregated' unit='USD'/></costTypes></conversions>"
              b"<tagNames>NAME_1</tagNames><assets>res.csv com.csv.gz</assets></exposureModel></nrml>")
    res = b"id,lon,lat,taxonomy,number,structural,SETTLEMENT,NAME_1\na1,1,2,W,3,100,Rural,X\n"
    com = gzip.compress(b"id,lon,lat,taxonomy,number,structural,night,NAME_1\nb1,3,4,RC,1,50,7,Y\n")
    table = read_as("exposure", {"e.xml": header, "res.csv": res, "com.csv.gz": com}, "e.xml")

    assert [(c.name, c.dtype) for c in table.columns] == [
        ("id", "text"), ("taxonomy", "text"), ("number", "float"), ("structural", "float"), ("SETTLEMENT", "text"),
        ("NAME_1", "text"), ("night", "float")]
    assert table.geometry == "mixed"  # the files' columns differ: each one's missing are null
    assert list(table.rows()) == [((1.0, 2.0), ("a1", "W", 3.0, 100.0, "Rural", "X", None)),
                                  ((3.0, 4.0), ("b1", "RC", 1.0, 50.0, None, "Y", 7.0))]

    inline = (b'<nrml xmlns="http://openquake.org/xmlns/nrml/0.4"><exposureModel id="e" category="buildings">'
              b"<occupancyPeriods>night</occupancyPeriods><assets><asset id='a' taxonomy='W' number='1'>"
              b"<location lon='1' lat='2'/><occupancies><occupancy occupants='3' period='day'/></occupancies></asset>"
              b"</assets></exposureModel></nrml>")
    table = read_as("exposure", {"e.xml": inline}, "e.xml")
    assert [c.name for c in table.columns] == ["id", "taxonomy", "number", "night", "day"]
    assert list(table.rows()) == [((1.0, 2.0), ("a", "W", 1.0, None, 3.0))]


def test_a_modellers_site_model_is_typed_by_its_cells():
    table = read_as("site_model", {"sm.csv": b"lon,lat,vs30,vs30measured,region,z1pt0\n1,2,760,False,0.0,100\n3,4,400,True,1.0,50\n"},
                    "sm.csv")

    assert [(c.name, c.dtype) for c in table.columns] == [("vs30", "float"), ("vs30measured", "text"), ("region", "float"),
                                                          ("z1pt0", "float")]
    assert list(table.rows())[0] == ((1.0, 2.0), (760.0, "False", 0.0, 100.0))
    ints = read_as("site_model", {"sm.csv": b"lon,lat,vs30,vs30measured\n1,2,760,0\n"}, "sm.csv")
    assert [(c.name, c.dtype) for c in ints.columns] == [("vs30", "float"), ("vs30measured", "int")]
