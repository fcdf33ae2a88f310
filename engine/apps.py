from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Imports from OpenQuake engine servers"
    default_auto_field = "django.db.models.BigAutoField"
