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


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    # int() would also take "1_000", "٣" (Arabic-Indic three) or "³": only ASCII digits are a number here.
    if not _INTEGER.fullmatch(value.strip()):
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum {maximum}")
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


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-[0-9]+|[a-z0-9-]{1,64}")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def blob_storage_from_env(default_dir: Path) -> dict:
    """The STORAGES entry for the blob store (blobs/): ICEBOX_BLOB_STORE=filesystem (default:
    ICEBOX_BLOB_DIR, an absolute path) or s3 (ICEBOX_S3_*; every one checked here, none guessed)."""
    kind = env_str("ICEBOX_BLOB_STORE", "filesystem").strip().lower()
    if kind == "filesystem":
        return {"BACKEND": "blobs.backends.AtomicFileSystemStorage", "OPTIONS": {"location": str(env_path("ICEBOX_BLOB_DIR", default_dir))}}
    if kind != "s3":
        raise ImproperlyConfigured(f"ICEBOX_BLOB_STORE={kind!r}: use filesystem or s3")
    bucket = env_str("ICEBOX_S3_BUCKET", required=True)
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ImproperlyConfigured(f"ICEBOX_S3_BUCKET={bucket!r} is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
    region = env_str("ICEBOX_S3_REGION", required=True)
    if not _REGION.fullmatch(region):
        raise ImproperlyConfigured(f"ICEBOX_S3_REGION={region!r} is not a region name (e.g. eu-west-1)")
    options = {
        "bucket_name": bucket,
        "region_name": region,
        "location": _s3_prefix(env_str("ICEBOX_S3_PREFIX", "blobs")),
        "file_overwrite": True,  # content-addressed: one name is one content
        "default_acl": None,  # the bucket's policy decides; never public-read by default
        "querystring_auth": True,
        "signature_version": "s3v4",
        "use_ssl": True,
        "verify": True,
        "addressing_style": env_str("ICEBOX_S3_ADDRESSING_STYLE", "auto"),
    }
    if options["addressing_style"] not in ("auto", "path", "virtual"):
        raise ImproperlyConfigured(f"ICEBOX_S3_ADDRESSING_STYLE={options['addressing_style']!r}: use auto, path or virtual")
    endpoint = env_str("ICEBOX_S3_ENDPOINT_URL")
    if endpoint is not None:
        options["endpoint_url"] = _s3_endpoint(endpoint)
    access_key, secret_key = env_str("ICEBOX_S3_ACCESS_KEY_ID"), env_str("ICEBOX_S3_SECRET_ACCESS_KEY")
    if (access_key is None) != (secret_key is None):
        raise ImproperlyConfigured("ICEBOX_S3_ACCESS_KEY_ID and ICEBOX_S3_SECRET_ACCESS_KEY go together (neither: boto3's own credentials, e.g. an instance role)")
    if access_key is not None:
        options["access_key"], options["secret_key"] = access_key, secret_key
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def _s3_prefix(value: str) -> str:
    prefix = value.strip("/")
    if not prefix or any(part in ("", ".", "..") for part in prefix.split("/")) or not re.fullmatch(r"[A-Za-z0-9._/-]+", prefix):
        raise ImproperlyConfigured(f"ICEBOX_S3_PREFIX={value!r} is not a key prefix (letters, digits, '._-/', no empty or dot parts)")
    return prefix


def _s3_endpoint(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        raise ImproperlyConfigured(f"ICEBOX_S3_ENDPOINT_URL={value!r} is not a base URL like https://s3.example.org:9000")
    # Keys and bytes in clear only on this machine, or when a site says so (a private network).
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not env_bool("ICEBOX_S3_ALLOW_HTTP", False):
        raise ImproperlyConfigured(f"ICEBOX_S3_ENDPOINT_URL={value!r} is plain HTTP to another machine: use https (or ICEBOX_S3_ALLOW_HTTP=1)")
    try:
        parts.port
    except ValueError:
        raise ImproperlyConfigured(f"ICEBOX_S3_ENDPOINT_URL={value!r} has an invalid port") from None
    return value.rstrip("/")
