"""The reference explorer page: static HTML and JavaScript that read only the public API.

The page holds no data of its own: everything it draws comes from the same endpoints a
third-party client calls (/artifacts, /calculations, tiles.json, tiles, /site, /compare), with
the browser's session. So the view only checks who is asking and that the JavaScript is there.
"""

from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

# Copied from node_modules by scripts/bootstrap.sh (npm ci): not in the repository.
VENDOR_FILES = ("explore/vendor/maplibre-gl.js", "explore/vendor/maplibre-gl.css")


@require_safe
def explorer(request):
    if not request.user.is_authenticated:
        # A browser page: the session login form, coming back here with the same state (query).
        return redirect_to_login(request.get_full_path(), login_url=reverse("rest_framework:login"))
    missing = [name for name in VENDOR_FILES if finders.find(name) is None]
    if missing:
        return JsonResponse(
            {
                "detail": f"the explorer's JavaScript is not installed ({', '.join(missing)} missing): run scripts/bootstrap.sh, which runs npm ci",
                "code": "explorer_not_installed",
            },
            status=503,
        )
    return render(request, "explore/explore.html")
