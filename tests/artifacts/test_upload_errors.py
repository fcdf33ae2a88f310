"""Every malformed upload is a 400 naming the file, line and problem, and leaves nothing behind."""

import io
import zipfile

import pytest

from tests.conftest import fixture_bytes
from tests.support import assert_nothing_stored, upload

GOOD = fixture_bytes("hazard_map-mean_2.csv")
GOOD_LINES = GOOD.decode().splitlines(keepends=True)


def _with_line(n: int, text: str) -> bytes:
    """GOOD with physical line n (1-based) replaced."""
    lines = list(GOOD_LINES)
    lines[n - 1] = text
    return "".join(lines).encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CASES = {
    "not_csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), None, "not a CSV text file"),
    "empty": (b"", None, "empty"),
    "truncated_row": (GOOD.rstrip(b"\n").rsplit(b",", 2)[0], 5, "expected 5 values, found 3"),
    "too_many_values": (_with_line(3, GOOD_LINES[2].rstrip("\r\n") + ",1.0\r\n"), 3, "expected 5 values, found 6"),
    "non_numeric": (_with_line(4, "-123.0,49.2,abc,1.0E-02,2.0E-02\n"), 4, "'abc'"),
    "nan": (_with_line(4, "-123.0,49.2,nan,1.0E-02,2.0E-02\n"), 4, "nan"),
    "lon_out_of_range": (_with_line(3, "-223.0,49.2,1.0E-02,1.0E-02,2.0E-02\n"), 3, "lon"),
    "lat_out_of_range": (_with_line(3, "-123.0,99.2,1.0E-02,1.0E-02,2.0E-02\n"), 3, "lat"),
    "unknown_header": (fixture_bytes("calc2_output-12-realizations_2.csv"), 2, "rlz_id"),
    "wrong_encoding": (_with_line(4, "-123.0,49.2,1.0E-02,1.0E-02,2.0E-02 \u00e9\n").decode().encode("latin-1"), 4, "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_csv_is_refused_with_file_line_and_problem(owner_client, case):
    data, line, problem = CASES[case]
    response = upload(owner_client, "hazard_map-mean_2.csv", data)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_file"
    assert "hazard_map-mean_2.csv" in body["detail"]
    assert problem in body["detail"]
    if line is not None:
        assert body["line"] == line
        assert f"line {line}" in body["detail"]
    assert_nothing_stored()


def test_zip_with_no_csv_is_refused(owner_client):
    response = upload(owner_client, "outputs.zip", _zip({"README.txt": b"hello"}))
    assert response.status_code == 400
    assert "outputs.zip" in response.json()["detail"] and "no .csv file" in response.json()["detail"]
    assert_nothing_stored()


def test_corrupt_zip_is_refused(owner_client):
    data = fixture_bytes("calc2_output-10-hmaps-csv.zip")
    response = upload(owner_client, "hmaps.zip", data[: len(data) // 2])
    assert response.status_code == 400
    assert "hmaps.zip" in response.json()["detail"]
    assert_nothing_stored()


def test_zip_bomb_is_refused(owner_client, settings):
    settings.ICEBOX_MAX_UNCOMPRESSED_BYTES = 1_000_000
    bomb = _zip({"hazard_map-mean_2.csv": GOOD + b"0" * 5_000_000})
    assert len(bomb) < 100_000
    response = upload(owner_client, "bomb.zip", bomb)
    assert response.status_code == 400
    assert "bomb.zip" in response.json()["detail"]
    assert_nothing_stored()


def test_a_bad_member_in_a_zip_stores_none_of_the_good_ones(owner_client):
    data = _zip({"hazard_map-mean_2.csv": GOOD, "hazard_map-mean_3.csv": _with_line(5, "1,2\n")})
    response = upload(owner_client, "hmaps.zip", data)
    assert response.status_code == 400
    assert "hmaps.zip/hazard_map-mean_3.csv: line 5" in response.json()["detail"]
    assert_nothing_stored()


def test_file_over_the_size_limit_is_refused(owner_client, settings):
    settings.ICEBOX_MAX_UPLOAD_BYTES = 100
    response = upload(owner_client, "hazard_map-mean_2.csv", GOOD)
    assert response.status_code == 400
    assert "hazard_map-mean_2.csv" in response.json()["detail"] and "over the upload limit of 100 bytes" in response.json()["detail"]
    assert_nothing_stored()


def test_missing_file_field_is_refused(owner_client):
    response = owner_client.post("/artifacts", {"name": "x"}, format="multipart")
    assert response.status_code == 400
    assert "multipart field 'file'" in response.json()["detail"]
    assert_nothing_stored()


def test_name_for_a_zip_of_several_files_is_refused(owner_client):
    response = upload(owner_client, "hmaps.zip", fixture_bytes("calc2_output-10-hmaps-csv.zip"), name="x")
    assert response.status_code == 400
    assert "name can only be given for a single CSV" in response.json()["detail"]
    assert_nothing_stored()


# --- names and fields ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["map\x00one", "\x00", "line\nbreak", "tab\there"])
def test_a_name_holding_nul_or_a_control_character_is_a_400(owner_client, name):
    response = upload(owner_client, "hazard_map-mean_2.csv", GOOD, name=name)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_parameter"
    assert "name must not contain control characters" in response.json()["detail"]
    assert_nothing_stored()


def test_a_name_over_255_characters_is_refused_not_cut(owner_client):
    response = upload(owner_client, "hazard_map-mean_2.csv", GOOD, name="é" * 256)
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "name is 256 characters long; the limit is 255"
    assert_nothing_stored()


def test_a_name_of_255_characters_is_kept_whole(owner_client):
    response = upload(owner_client, "hazard_map-mean_2.csv", GOOD, name="é" * 255)
    assert response.status_code == 201, response.content
    assert response.json()["artifacts"][0]["name"] == "é" * 255


def test_a_file_name_over_255_characters_is_refused_not_cut(owner_client):
    long_name = "a" * 300 + ".csv"
    response = upload(owner_client, long_name, GOOD)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_file"
    assert "the file name is 304 characters long; the limit is 255" in body["detail"]
    assert_nothing_stored()


def test_a_zip_member_whose_name_is_over_255_characters_is_refused(owner_client):
    response = upload(owner_client, "maps.zip", _zip({"d" * 250 + "/hazard_map-mean_2.csv": GOOD, "x" * 256 + ".csv": GOOD}))
    assert response.status_code == 400, response.content
    assert "the limit is 255" in response.json()["detail"]
    assert_nothing_stored()


def test_two_file_fields_are_refused_not_one_dropped(owner_client):
    from tests.support import _named

    files = [_named("hazard_map-mean_2.csv", GOOD), _named("hazard_curve-mean-PGA_2.csv", fixture_bytes("hazard_curve-mean-PGA_2.csv"))]
    response = owner_client.post("/artifacts", {"file": files}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_file"
    assert "2 'file' fields" in response.json()["detail"]
    assert_nothing_stored()


def test_two_name_fields_are_refused(owner_client):
    from tests.support import _named

    response = owner_client.post("/artifacts", {"file": _named("hazard_map-mean_2.csv", GOOD), "name": ["a", "b"]}, format="multipart")
    assert response.status_code == 400, response.content
    assert "2 'name' fields" in response.json()["detail"]
    assert_nothing_stored()


def test_a_file_sent_as_the_name_field_is_refused(owner_client):
    from tests.support import _named

    response = owner_client.post("/artifacts", {"file": _named("hazard_map-mean_2.csv", GOOD), "name": _named("n.txt", b"x")}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "name must be text, not a file"
    assert_nothing_stored()
