from datetime import datetime, timezone

import pytest

from engine.exceptions import EngineBadResponse
from engine.timestamps import parse_engine_time


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-27, 18:17:43 UTC", datetime(2026, 11, 27, 18, 17, 43, tzinfo=timezone.utc)),  # list, status
        ("2026-11-27 18:17:43.873805+00:00", datetime(2026, 11, 27, 18, 17, 43, 873805, tzinfo=timezone.utc)),  # /v1/calc/ID
        ("2026-11-27T18:19:58", datetime(2026, 11, 27, 18, 19, 58, tzinfo=timezone.utc)),  # POST run: no zone, UTC
        (None, None),
        ("", None),
    ],
)
def test_it_reads_the_three_engine_formats(text, expected):
    assert parse_engine_time(text) == expected


def test_it_refuses_anything_else():
    with pytest.raises(EngineBadResponse):
        parse_engine_time("yesterday")
