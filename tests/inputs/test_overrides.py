from inputs.overrides import described, with_overrides

JOB = (
    "[general]\n"
    "description = Point sources\n"
    "  around Etna\n"
    "calculation_mode = classical\n"
    "# investigation_time = 1 (a comment, never an override's target)\n"
    "\n"
    "[calculation]\n"
    "investigation_time: 50.0\n"
    "intensity_measure_types_and_levels = {\n"
    '    "PGA": [0.1, 0.2]}\n'
    "truncation_level = 3\n"
)


def test_an_override_replaces_the_line_where_the_file_sets_the_key_in_any_section():
    text = with_overrides(JOB, {"investigation_time": "1"})
    assert "investigation_time = 1\n" in text and "50.0" not in text
    assert "# investigation_time = 1 (a comment" in text  # comments stay as they are
    assert "[calculation]\ninvestigation_time = 1\nintensity_measure" in text


def test_an_override_of_a_continued_value_replaces_its_continuation_lines_too():
    text = with_overrides(JOB, {"intensity_measure_types_and_levels": '{"SA(0.1)": [0.5]}'})
    assert '"PGA"' not in text
    assert 'intensity_measure_types_and_levels = {"SA(0.1)": [0.5]}\ntruncation_level = 3\n' in text


def test_a_key_the_file_does_not_set_goes_into_its_first_section():
    text = with_overrides(JOB, {"maximum_distance": "200"})
    assert text.startswith("[general]\nmaximum_distance = 200\ndescription = Point sources\n")


def test_every_other_byte_is_kept_and_crlf_files_stay_crlf():
    assert with_overrides(JOB, {}) == JOB
    crlf = JOB.replace("\n", "\r\n")
    text = with_overrides(crlf, {"truncation_level": "2"})
    assert "truncation_level = 2\r\n" in text and "\n" not in text.replace("\r\n", "")


def test_the_marker_is_appended_to_the_description_continuation_included():
    text = described(JOB, "[icebox run 7]")
    assert "description = Point sources around Etna [icebox run 7]\ncalculation_mode" in text


def test_a_job_without_description_gets_the_marker_as_its_description():
    assert "description = [icebox run 7]" in described("[general]\ncalculation_mode = classical\n", "[icebox run 7]")
