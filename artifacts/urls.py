from django.urls import path

from artifacts import views

urlpatterns = [
    path("artifacts", views.ArtifactListView.as_view(), name="artifact-list"),
    path("artifact/<int:artifact_id>", views.ArtifactDetailView.as_view(), name="artifact-detail"),
    path("artifact/<int:artifact_id>/raw", views.ArtifactRawView.as_view(), name="artifact-raw"),
    path("artifact/<int:artifact_id>/shares", views.ArtifactSharesView.as_view(), name="artifact-shares"),
    path("artifact/<int:artifact_id>/shares/<int:share_id>", views.ArtifactShareDetailView.as_view(), name="artifact-share-detail"),
]
