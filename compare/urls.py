from django.urls import path

from compare import views

urlpatterns = [
    path("compare", views.CompareView.as_view(), name="compare"),
    path("compare/summary", views.CompareSummaryView.as_view(), name="compare-summary"),
    path("compare/tiles/<int:z>/<int:x>/<int:y>.mvt", views.CompareTileView.as_view(), name="compare-tile"),
]
