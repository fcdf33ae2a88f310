"""Django's own password forms counted like /api/token.

The admin's login and the browsable API's login are plain Django views, outside DRF's throttles:
without this, a guesser stopped at /api/token would move to /admin/login/. A POST to either is
counted by the token throttles, under the same keys, so the three ways to check a password share
one budget per client address and one per username tried.
"""

from __future__ import annotations

import math

from django.http import JsonResponse

from throttling.throttles import TokenAddressThrottle, TokenUsernameThrottle

PASSWORD_FORMS = {"admin:login", "rest_framework:login"}


class LoginFormThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in PASSWORD_FORMS:
            return None
        # Every throttle counts the attempt, as DRF's do, even when an earlier one refuses it.
        refused = [throttle for throttle in (TokenAddressThrottle(), TokenUsernameThrottle()) if not throttle.allow_request(request, None)]
        if not refused:
            return None
        wait = math.ceil(max(throttle.wait() for throttle in refused)) or 1
        response = JsonResponse({"detail": f"Request was throttled. Expected available in {wait} seconds.", "code": "throttled"}, status=429)
        response["Retry-After"] = str(wait)
        return response
