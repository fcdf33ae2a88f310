"""The allow-list of engine servers, and matching what a user typed against it.

Pure Python (no Django models, no network): settings.py parses ICEBOX_ENGINE_SERVERS with
`parse_engine_servers`, and every import goes through `match_engine_url` / `parse_import_target`
before any request is sent. A URL is allowed only if its scheme, host and port are exactly
those of a configured server: there is no DNS lookup, no address-range rule and no "same
domain" leniency, so private, link-local or alternative spellings of an address (`2130706433`,
`0x7f.1`, `[::ffff:127.0.0.1]`) are refused simply because nobody listed them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from core.exceptions import InvalidParameter
from core.integers import INTEGER_MAX, parse_int
from engine.exceptions import EngineNotAllowed

_SCHEMES = {"http": 80, "https": 443}
# /v1/calc/7, /v1/calc/7/, /v1/calc/7/results, /v1/calc/7/status: the forms a user copies from the engine.
_CALC_PATH_RE = re.compile(r"/v1/calc/(?P<calc_id>[0-9]{1,12})(?:/(?:results|status|result/list))?/?")


@dataclass(frozen=True)
class EngineServerConfig:
    scheme: str
    host: str
    port: int
    username: str | None = None
    # repr=False: a settings dump or a traceback showing this object must not show the password.
    password: str | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """The server's URL without credentials: what is stored, shown and logged."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


def parse_engine_servers(value: str | None, *, name: str = "ICEBOX_ENGINE_SERVERS") -> tuple[EngineServerConfig, ...]:
    """`http://host:port,https://user:pass@host2` -> configs; ImproperlyConfigured on anything doubtful."""
    if value is None or value.strip() == "":
        return ()
    servers = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            raise ImproperlyConfigured(f"{name} has an empty item")
        server = _parse_server(item, name)
        if any(s.key == server.key for s in servers):
            raise ImproperlyConfigured(f"{name} lists {server.base_url} twice")
        servers.append(server)
    return tuple(servers)


def _parse_server(item: str, name: str) -> EngineServerConfig:
    # Never echo `item` itself in an error: it may hold a password.
    parts = urlsplit(item)
    shown = f"{parts.scheme}://{parts.hostname or '?'}"
    if parts.scheme not in _SCHEMES:
        raise ImproperlyConfigured(f"{name}: {shown}: the scheme must be http or https")
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name}: {shown}: no host")
    try:
        port = parts.port or _SCHEMES[parts.scheme]
    except ValueError:
        raise ImproperlyConfigured(f"{name}: {shown}: invalid port") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        # The engine's API lives at the root; a path would be silently ignored, so refuse it.
        raise ImproperlyConfigured(f"{name}: {shown}: give the base URL only (scheme://[user:password@]host:port)")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None) or username == "" or password == "":
        raise ImproperlyConfigured(f"{name}: {shown}: credentials must be user:password, both non-empty")
    return EngineServerConfig(parts.scheme, parts.hostname.lower(), port, username, password)


def match_engine_url(url: str, servers: tuple[EngineServerConfig, ...]) -> tuple[EngineServerConfig, str]:
    """The configured server `url` points at, and the URL's path; EngineNotAllowed otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise EngineNotAllowed("engine_url must be a URL such as http://127.0.0.1:8800")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise EngineNotAllowed("engine_url is not a valid URL") from None
    if parts.scheme not in _SCHEMES:
        raise EngineNotAllowed(f"engine URL scheme {parts.scheme!r} is not allowed: use http or https")
    if "@" in parts.netloc:
        # Credentials come from the server configuration only, never from the request.
        raise EngineNotAllowed("engine URL must not contain a user name or password")
    if not host:
        raise EngineNotAllowed("engine URL has no host")
    if parts.query or parts.fragment:
        raise EngineNotAllowed("engine URL must not have a query or fragment")
    key = (parts.scheme, host.lower(), port or _SCHEMES[parts.scheme])
    for server in servers:
        if server.key == key:
            return server, parts.path
    listed = ", ".join(s.base_url for s in servers) or "none configured"
    raise EngineNotAllowed(f"engine server {_shown(key)} is not in ICEBOX_ENGINE_SERVERS (allowed: {listed})")


def parse_import_target(
    *, engine_url=None, calc_id=None, url=None, servers: tuple[EngineServerConfig, ...]
) -> tuple[EngineServerConfig, int]:
    """Either engine_url + calc_id, or url = `<engine>/v1/calc/<id>[/results]`."""
    if url is not None and (engine_url is not None or calc_id is not None):
        raise InvalidParameter("give either url, or engine_url and calc_id, not both")
    if url is not None:
        server, path = match_engine_url(url, servers)
        match = _CALC_PATH_RE.fullmatch(path)
        if not match:
            raise InvalidParameter("url must look like http://host:port/v1/calc/<calc_id>/results")
        return server, parse_int(match["calc_id"], name="calc_id", minimum=1, maximum=INTEGER_MAX)
    if engine_url is None or calc_id is None:
        raise InvalidParameter("give engine_url and calc_id, or url (http://host:port/v1/calc/<calc_id>/results)")
    server, path = match_engine_url(engine_url, servers)
    if path not in ("", "/"):
        raise InvalidParameter("engine_url must be the server's base URL, e.g. http://127.0.0.1:8800")
    # The engine numbers calculations with integers, and so does Icebox (ImportJob.calc_id).
    return server, parse_int(calc_id, name="calc_id", minimum=1, maximum=INTEGER_MAX)


def _shown(key: tuple[str, str, int]) -> str:
    scheme, host, port = key
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"
