"""engine.tree: the levels of a calculation's tree from what an import stores, on the metadata the
parser reads from real engine exports (fixtures/)."""

from __future__ import annotations

from engine.tree import Leaf, calculation_tree, engine_file_name, imt_order
from kinds import read_export
from tests.conftest import fixture_bytes

LIMIT = 1 << 30


def leaves_of(fixture: str, output_id: int, output_type: str, export_name: str) -> list[Leaf]:
    return [
        Leaf(
            item=table, metadata=table.metadata,
            output_id=output_id, output_type=output_type, export_name=export_name, file_name=table.file_name,
        )
        for table in read_export(export_name, fixture_bytes(fixture), max_uncompressed=LIMIT)
    ]


def leaf(output_id=1, output_type="x", file_name="f.csv", export_name=None, **metadata) -> Leaf:
    return Leaf(
        item=file_name, metadata=metadata,
        output_id=output_id, output_type=output_type, export_name=export_name or file_name, file_name=file_name,
    )


def shape(nodes) -> list:
    return [(n.level, n.name, shape(n.children), [a.engine_file_name for a in n.artifacts]) for n in nodes]


def test_a_single_file_download_loses_the_prefix_the_engines_web_server_adds_and_nothing_else_changes():
    assert engine_file_name(output_id=4, export_name="output-4-hazard_map-mean-475y_1.csv", file_name="output-4-hazard_map-mean-475y_1.csv") == "hazard_map-mean-475y_1.csv"
    # A zip's members are named as in the zip.
    assert engine_file_name(output_id=9, export_name="output-9-hcurves-csv.zip", file_name="hazard_curve-mean-PGA_2.csv") == "hazard_curve-mean-PGA_2.csv"
    # Another output's prefix, or a name that would become empty, is left as it is.
    assert engine_file_name(output_id=5, export_name="output-4-x_1.csv", file_name="output-4-x_1.csv") == "output-4-x_1.csv"
    assert engine_file_name(output_id=4, export_name="output-4-", file_name="output-4-") == "output-4-"
    # A download the engine names without the prefix (the datastore: calc_2.hdf5) keeps its name.
    assert engine_file_name(output_id=7, export_name="calc_2.hdf5", file_name="calc_2.hdf5") == "calc_2.hdf5"


def test_real_exports_take_the_engines_levels():
    leaves = [
        *leaves_of("calc2_output-14-uhs-csv.zip", 14, "uhs", "output-14-uhs-csv.zip"),
        *leaves_of("calc2_output-9-hcurves-csv.zip", 9, "hcurves", "output-9-hcurves-csv.zip"),
        *leaves_of("calc2_output-11-hmaps-stats-csv.zip", 11, "hmaps-stats", "output-11-hmaps-stats-csv.zip"),
    ]
    nodes = calculation_tree(leaves, imt_order=["PGA", "SA(0.2)", "SA(1.0)"])
    assert [n.name for n in nodes] == ["hcurves", "hmaps-stats", "uhs"]  # by output id
    hcurves, stats, uhs = nodes
    assert [k.name for k in hcurves.children] == ["mean", "quantile-0.15", "quantile-0.85", "rlz-000", "rlz-001", "rlz-002"]
    assert shape(hcurves.children[0].children) == [
        ("imt", "PGA", [], ["hazard_curve-mean-PGA_2.csv"]),
        ("imt", "SA(0.2)", [], ["hazard_curve-mean-SA(0.2)_2.csv"]),
        ("imt", "SA(1.0)", [], ["hazard_curve-mean-SA(1.0)_2.csv"]),
    ]
    assert shape(stats.children) == [
        ("kind", "mean", [("return_period", "475y", [], ["hazard_map-mean-475y_2.csv"])], []),
        ("kind", "quantile-0.15", [("return_period", "475y", [], ["quantile_map-0.15-475y_2.csv"])], []),
        ("kind", "quantile-0.85", [("return_period", "475y", [], ["quantile_map-0.85-475y_2.csv"])], []),
    ]
    assert shape(uhs.children)[0] == ("kind", "mean", [], ["hazard_uhs-mean_2.csv"])
    assert sum(1 for _ in _walk(nodes)) == len(leaves)


def _walk(nodes):
    for node in nodes:
        yield from node.artifacts
        yield from _walk(node.children)


def test_levels_are_ordered_as_the_engine_orders_them_not_as_text():
    leaves = [
        leaf(3, "hmaps-stats", "a.csv", kind="mean", return_period=2475),
        leaf(3, "hmaps-stats", "b.csv", kind="mean", return_period=475),
        leaf(3, "hmaps-stats", "c.csv", kind="mean", return_period=999),
        leaf(2, "hcurves", "d.csv", kind="rlz-010", imt="SA(10.0)"),
        leaf(2, "hcurves", "e.csv", kind="rlz-9", imt="SA(2.0)"),
        leaf(2, "hcurves", "f.csv", kind="quantile-0.5", imt="PGA"),
        leaf(2, "hcurves", "g.csv", kind="quantile-0.05", imt="PGA"),
        leaf(2, "hcurves", "h.csv", kind="std", imt="PGA"),
        leaf(2, "hcurves", "i.csv", kind="mean", imt="SA(10.0)"),
        leaf(2, "hcurves", "j.csv", kind="mean", imt="SA(2.0)"),
        leaf(2, "hcurves", "k.csv", kind="mean", imt="PGV"),
    ]
    hcurves, stats = calculation_tree(leaves, imt_order=["SA(2.0)", "SA(10.0)"])
    assert [n.name for n in stats.children[0].children] == ["475y", "999y", "2475y"]
    assert [n.name for n in hcurves.children] == ["mean", "quantile-0.05", "quantile-0.5", "rlz-9", "rlz-010", "std"]
    # The job's IMTs in its order, any other after them by name.
    assert [n.name for n in hcurves.children[0].children] == ["SA(2.0)", "SA(10.0)", "PGV"]


def test_files_with_no_kind_sit_under_their_output_type_and_odd_metadata_makes_no_level():
    leaves = [
        leaf(5, "realizations", "output-5-realizations_1.csv", export_name="output-5-realizations_1.csv"),
        leaf(6, "gmf_data", "sitemesh_6.csv", export_name="output-6-gmf_data-csv.zip"),
        leaf(6, "gmf_data", "gmf-data_6.csv", export_name="output-6-gmf_data-csv.zip"),
        leaf(7, "odd", "a.csv", kind=3),
        leaf(7, "odd", "b.csv", kind="", imt="PGA"),
        leaf(7, "odd", "c.csv", kind="mean", imt=None, return_period=True),
        leaf(7, "odd", "d.csv", kind="mean", imt="PGA"),
        leaf(7, "odd", "e.csv", kind="mean", return_period=475),
    ]
    assert shape(calculation_tree(leaves)) == [
        ("output_type", "realizations", [], ["realizations_1.csv"]),
        ("output_type", "gmf_data", [], ["gmf-data_6.csv", "sitemesh_6.csv"]),
        ("output_type", "odd", [("kind", "mean", [("imt", "PGA", [], ["d.csv"]), ("return_period", "475y", [], ["e.csv"])], ["c.csv"])], ["a.csv", "b.csv"]),
    ]


def test_the_jobs_imt_order_comes_from_its_parameters():
    assert imt_order({"hazard_imtls": {"PGA": [0.1], "SA(1.0)": [0.1], "SA(0.2)": [0.1]}}) == ["PGA", "SA(1.0)", "SA(0.2)"]
    assert imt_order({"imtls": {"PGV": [1]}}) == ["PGV"]
    assert imt_order(None) == imt_order({}) == imt_order({"hazard_imtls": "x"}) == []
