"""The page at `/`: what this server offers, for whoever opens the URL `make run` prints."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from icebox import selectors


@require_safe
def landing(request):
    count = selectors.artifact_list(user=request.user).count() if request.user.is_authenticated else None
    base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "icebox/landing.html", {"artifact_count": count, "base": base})
