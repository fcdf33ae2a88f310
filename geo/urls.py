from django.urls import path

from geo import table_views, views

urlpatterns = [
    path("artifact/<int:artifact_id>/tiles/<int:z>/<int:x>/<int:y>.mvt", views.ArtifactTileView.as_view(), name="artifact-tile"),
    path("artifact/<int:artifact_id>/site", views.ArtifactSiteView.as_view(), name="artifact-site"),
    path("artifact/<int:artifact_id>/tiles.json", views.ArtifactTileJSONView.as_view(), name="artifact-tilejson"),
    path("artifact/<int:artifact_id>/rows", table_views.ArtifactRowsView.as_view(), name="artifact-rows"),
]
