from django.urls import path

from inputs import views

urlpatterns = [
    path("inputs", views.InputListView.as_view(), name="input-list"),
    path("inputs/<int:input_id>", views.InputDetailView.as_view(), name="input-detail"),
    path("inputs/<int:input_id>/run", views.InputRunView.as_view(), name="input-run"),
    path("calculations/<int:calculation_id>/inputs", views.CalculationInputsView.as_view(), name="calculation-inputs"),
    path("runs", views.RunListView.as_view(), name="run-list"),
    path("runs/<int:run_id>", views.RunDetailView.as_view(), name="run-detail"),
]
