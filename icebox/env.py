"""Strict readers of environment variables for settings.

Every reader raises ImproperlyConfigured on a value it cannot parse, instead of
guessing: `DEBUG=Flase` must stop the server, not quietly turn debugging on or off.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_INTEGER = re.compile(r"[+-]?[0-9]+")
_RATE = re.compile(r"([0-9]+)/(s|sec|second|m|min|minute|h|hour|d|day)")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    # int() would also take "1_000", "٣" (Arabic-Indic three) or "³": only ASCII digits are a number here.
    if not _INTEGER.fullmatch(value.strip()):
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name}={value!r} has an empty item")
    return items


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate, `<requests>/<second|minute|hour|day>` (or s, sec, m, min, h, d)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    match = _RATE.fullmatch(value.strip())
    # DRF reads only the period's first letter: "10/month" would quietly mean ten a minute.
    if match is None or int(match.group(1)) < 1:
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate: use e.g. 10/minute, 5000/hour (at least 1)")
    return value.strip()


_DB_SCHEMES = {"postgis", "postgres", "postgresql", "pgsql"}


def parse_database_url(url: str) -> dict:
    """Turn `postgis://user:pass@host:port/name?sslmode=require` into a DATABASES entry.

    Only PostgreSQL is accepted: Icebox needs PostGIS, and a URL for anything else is a mistake
    better caught at start-up than at the first geometry query.
    """
    parts = urlsplit(url)
    if parts.scheme not in _DB_SCHEMES:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parts.scheme!r} is not supported: use postgis://user:password@host:port/dbname"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        raise ImproperlyConfigured("DATABASE_URL must name exactly one database, e.g. postgis://icebox@127.0.0.1:5432/icebox")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("DATABASE_URL has an invalid port") from None
    options: dict[str, str] = {}
    if parts.query:
        for pair in parts.query.split("&"):
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise ImproperlyConfigured(f"DATABASE_URL option {pair!r} is not key=value")
            options[unquote(key)] = unquote(value)
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        # An empty host means the local socket, as with psql.
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(port) if port else "",
        "OPTIONS": options,
    }


def env_path(name: str, default: Path) -> Path:
    """An absolute path: a relative one would depend on the directory a process happens to start in."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    path = Path(value)
    if not path.is_absolute():
        raise ImproperlyConfigured(f"{name}={value!r} is not an absolute path")
    return path
