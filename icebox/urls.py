from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import ObtainAuthToken

from icebox import landing
from ogc import views as ogc_views
from throttling.throttles import TokenAddressThrottle, TokenUsernameThrottle

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("", include("artifacts.urls")),
    path("", include("geo.urls")),
    path("", include("compare.urls")),
    path("ogc/", include("ogc.urls")),
    path("ogc", ogc_views.LandingView.as_view()),
    path("", include("engine.urls")),
    path("", include("explore.urls")),
    path("", include("inputs.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/token", ObtainAuthToken.as_view(throttle_classes=[TokenAddressThrottle, TokenUsernameThrottle]), name="api-token"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
]

# What Django answers itself (no URL matched, a bad Host, a failing middleware) is JSON too.
handler400 = "icebox.api_errors.bad_request"
handler403 = "icebox.api_errors.permission_denied"
handler404 = "icebox.api_errors.not_found"
handler500 = "icebox.api_errors.server_error"
