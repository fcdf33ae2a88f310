"""The engine writes one instant three ways (api.md section 2); all become aware UTC datetimes.

    /v1/calc/list, /status   "2026-11-27, 18:17:43 UTC"
    /v1/calc/<id>            "2026-11-27 18:17:43.873805+00:00"
    POST /v1/calc/run        "2026-11-27T18:19:58"          (no zone: the server writes UTC)
"""

from __future__ import annotations

from datetime import datetime, timezone

from engine.exceptions import EngineBadResponse

_LIST_FORMAT = "%Y-%m-%d, %H:%M:%S UTC"


def parse_engine_time(value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EngineBadResponse(f"engine timestamp {value!r} is not a text")
    text = value.strip()
    try:
        if text.endswith(" UTC") and ", " in text:
            parsed = datetime.strptime(text, _LIST_FORMAT)
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        raise EngineBadResponse(f"engine timestamp {value!r} is in none of the engine's formats") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
