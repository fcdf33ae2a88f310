from django.urls import path

from engine import views

urlpatterns = [
    path("artifacts/import", views.ImportCreateView.as_view(), name="import-create"),
    path("imports", views.ImportListView.as_view(), name="import-list"),
    path("imports/<int:job_id>", views.ImportDetailView.as_view(), name="import-detail"),
    path("calculations", views.CalculationListView.as_view(), name="calculation-list"),
    path("calculations/<int:calculation_id>", views.CalculationDetailView.as_view(), name="calculation-detail"),
    path("calculations/<int:calculation_id>/export", views.CalculationExportView.as_view(), name="calculation-export"),
    path("calculations/<int:calculation_id>/site", views.CalculationSiteView.as_view(), name="calculation-site"),
    path("calculations/<int:calculation_id>/shares", views.CalculationSharesView.as_view(), name="calculation-shares"),
    path(
        "calculations/<int:calculation_id>/shares/<int:share_id>",
        views.CalculationShareDetailView.as_view(),
        name="calculation-share-detail",
    ),
]
