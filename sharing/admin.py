from django.contrib import admin

from sharing.models import Share


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ["id", "artifact", "calculation", "user", "group", "everyone", "created"]
    list_filter = ["everyone", "created"]
    search_fields = ["user__username", "group__name", "artifact__name", "artifact__owner__username", "calculation__owner__username"]
    list_select_related = ["artifact", "calculation", "user", "group"]
    readonly_fields = [f.name for f in Share._meta.fields]

    # Shares are made by owners through the API (which refuses sharing with oneself or what one
    # does not own); the admin shows them and can revoke them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
