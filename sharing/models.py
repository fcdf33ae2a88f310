from django.conf import settings
from django.db import models
from django.db.models import Q

# Exactly one thing is shared, with exactly one grantee.
_ONE_TARGET = Q(artifact__isnull=False, calculation__isnull=True) | Q(artifact__isnull=True, calculation__isnull=False)
_ONE_GRANTEE = (
    Q(user__isnull=False, group__isnull=True, everyone=False)
    | Q(user__isnull=True, group__isnull=False, everyone=False)
    | Q(user__isnull=True, group__isnull=True, everyone=True)
)


class Share(models.Model):
    """Read access to one artifact, or to a calculation and so all its artifacts, for one grantee:
    a user, a group, or everyone with an account.

    There is no owner column: the owner is the target's, so a share can never outlive or
    contradict who owns what. Deleting the target, the user or the group removes the share.
    """

    # No single-column index on the targets: the unique constraints below lead with them.
    artifact = models.ForeignKey("icebox.Artifact", on_delete=models.CASCADE, null=True, blank=True, db_index=False, related_name="shares")
    calculation = models.ForeignKey(
        "engine.Calculation", on_delete=models.CASCADE, null=True, blank=True, db_index=False, related_name="shares"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    everyone = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.CheckConstraint(condition=_ONE_TARGET, name="sharing_share_one_target"),
            models.CheckConstraint(condition=_ONE_GRANTEE, name="sharing_share_one_grantee"),
            # A NULL never equals another, so (artifact, user) only binds rows that have both;
            # the indexes these create, led by the target, are what every access check reads.
            models.UniqueConstraint(fields=["artifact", "user"], name="sharing_share_artifact_user_unique"),
            models.UniqueConstraint(fields=["artifact", "group"], name="sharing_share_artifact_group_unique"),
            models.UniqueConstraint(fields=["artifact"], condition=Q(everyone=True), name="sharing_share_artifact_everyone_unique"),
            models.UniqueConstraint(fields=["calculation", "user"], name="sharing_share_calculation_user_unique"),
            models.UniqueConstraint(fields=["calculation", "group"], name="sharing_share_calculation_group_unique"),
            models.UniqueConstraint(
                fields=["calculation"], condition=Q(everyone=True), name="sharing_share_calculation_everyone_unique"
            ),
        ]

    def __str__(self):
        target = f"artifact {self.artifact_id}" if self.artifact_id else f"calculation {self.calculation_id}"
        return f"{target} shared with {self.grantee}"

    @property
    def grantee(self) -> str:
        if self.everyone:
            return "everyone"
        if self.group_id:
            return f"group {self.group.name}"
        return f"user {self.user.get_username()}"
