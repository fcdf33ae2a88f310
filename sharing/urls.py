from django.urls import path

from sharing import views

urlpatterns = [
    path("artifact/<int:artifact_id>/shares", views.ArtifactSharesView.as_view(), name="artifact-shares"),
    path("artifact/<int:artifact_id>/shares/<int:share_id>", views.ArtifactShareDetailView.as_view(), name="artifact-share-detail"),
    path("calculations/<int:calculation_id>/shares", views.CalculationSharesView.as_view(), name="calculation-shares"),
    path(
        "calculations/<int:calculation_id>/shares/<int:share_id>",
        views.CalculationShareDetailView.as_view(),
        name="calculation-share-detail",
    ),
]
