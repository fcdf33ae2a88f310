from django.apps import AppConfig


class IceboxConfig(AppConfig):
    name = "icebox"
    default_auto_field = "django.db.models.BigAutoField"
