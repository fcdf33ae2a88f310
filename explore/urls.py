from django.urls import path

from explore import views

urlpatterns = [
    path("explore/", views.explorer, name="explore"),
]
