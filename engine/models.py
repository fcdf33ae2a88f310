from django.conf import settings
from django.db import models


class Calculation(models.Model):
    """One engine calculation as one Icebox user imported it: groups that calc's artifacts.

    Per owner, because artifacts are: two users importing the same calc each get their own copy.
    `engine_url` never holds credentials (it is `EngineServerConfig.base_url`).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calculations")
    engine_url = models.CharField(max_length=255)
    calc_id = models.PositiveIntegerField()
    engine_version = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    calculation_mode = models.CharField(max_length=100, blank=True)
    # The engine's status when last seen (complete, or shared: a complete calc others may read).
    status = models.CharField(max_length=32, blank=True)
    start_time = models.DateTimeField(null=True)
    stop_time = models.DateTimeField(null=True)
    # The job parameters from /v1/calc/ID/extract/oqparam (exact IMLs, poes, quantiles, inputs...).
    oqparam = models.JSONField(null=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "engine_url", "calc_id"], name="engine_calculation_unique"),
        ]

    def __str__(self):
        return f"calc {self.calc_id} at {self.engine_url}"


class ImportedOutput(models.Model):
    """Provenance of one imported artifact: which engine output and export file it came from.

    The unique key is what makes imports idempotent: an output already here is reused, not stored
    again. Deleting the artifact deletes this row, so the output can be imported again.
    """

    calculation = models.ForeignKey(Calculation, on_delete=models.PROTECT, related_name="imported_outputs")
    output_id = models.PositiveIntegerField()  # 0: the calc's datastore (engine.runs.DATASTORE_OUTPUT_ID)
    output_type = models.CharField(max_length=50)
    # The download's name (output-9-hcurves-csv.zip) and, for a zip, the CSV inside it.
    export_name = models.CharField(max_length=255)
    file_name = models.CharField(max_length=255)
    artifact = models.OneToOneField("icebox.Artifact", on_delete=models.CASCADE, related_name="imported_output")

    class Meta:
        ordering = ["output_id", "file_name"]
        constraints = [
            models.UniqueConstraint(fields=["calculation", "output_id", "file_name"], name="engine_imported_output_unique"),
        ]


class ImportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(models.Model):
    """One request to import (some outputs of) an engine calc, and what became of it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs")
    # Differs from owner when staff imported for someone else.
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    engine_url = models.CharField(max_length=255)
    calc_id = models.PositiveIntegerField()
    calculation = models.ForeignKey(Calculation, on_delete=models.SET_NULL, null=True, related_name="import_jobs")
    # Output types asked for (hcurves, gmf_data, ...); [] for every output the calc lists.
    outputs = models.JSONField(default=list)
    # Also store the calc's whole HDF5 datastore (provenance output_id 0).
    datastore = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    outputs_done = models.IntegerField(default=0)
    outputs_total = models.IntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    # Sum of the sizes announced by the engine so far (Content-Length); grows as downloads start.
    bytes_total = models.BigIntegerField(default=0)
    # [{"output_id": 12, "type": "realizations", "name": "Realizations", "reason": "..."}]
    skipped = models.JSONField(default=list)
    error = models.TextField(blank=True)
    artifacts = models.ManyToManyField("icebox.Artifact", blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True)
    finished = models.DateTimeField(null=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"import {self.pk}: calc {self.calc_id} at {self.engine_url} ({self.status})"
