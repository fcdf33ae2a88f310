"""DRF throttles counting in PostgreSQL (throttling.counters), with rates from the settings.

DRF's own SimpleRateThrottle keeps a list of timestamps in Django's cache, read and rewritten by
every request: in a per-process cache each gunicorn worker counts apart (the real limit is the
rate times the number of workers), and in a shared cache two workers reading the same list at
once both let their request through. An atomic counter in the database is shared and exact.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from throttling import counters


class WindowRateThrottle(SimpleRateThrottle):
    """`num_requests` per `duration` seconds per key; subclasses say what the key is."""

    def get_rate(self):
        # Read at each request, not at import as DRF does, so that a changed setting applies.
        return settings.ICEBOX_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        self.hits, self.left = counters.hit(f"{self.scope}:{ident}", self.duration)
        return self.hits <= self.num_requests

    def wait(self):
        return self.left


class UserThrottle(WindowRateThrottle):
    """Every API request of a logged-in user."""

    scope = "user"

    def get_cache_key(self, request, view):
        return str(request.user.pk) if request.user.is_authenticated else None


class AnonymousThrottle(WindowRateThrottle):
    """Every API request without credentials, per client address."""

    scope = "anonymous"

    def get_cache_key(self, request, view):
        return None if request.user.is_authenticated else self.get_ident(request)


class TokenAddressThrottle(WindowRateThrottle):
    """Password checks (/api/token, the login forms), per client address: guessing from one place."""

    scope = "token_address"

    def get_cache_key(self, request, view):
        return self.get_ident(request)


class TokenUsernameThrottle(WindowRateThrottle):
    """Password checks (/api/token, the login forms), per username tried: guessing one account from many places."""

    scope = "token_username"

    def get_cache_key(self, request, view):
        # A DRF request's parsed body, or a Django form's (throttling.login_forms).
        data = request.data if hasattr(request, "data") else request.POST
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or username == "":
            return None
        # Hashed: the key's length must not be the attacker's choice.
        return hashlib.sha256(username.encode()).hexdigest()
