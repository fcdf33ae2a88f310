from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing of artifacts and calculations"
    default_auto_field = "django.db.models.BigAutoField"
