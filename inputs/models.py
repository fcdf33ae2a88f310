from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from engine.models import LABEL_MAX_LENGTH


class InputModel(models.Model):
    """The inputs of an engine job: a job.ini and every file it names, kept as one archive.

    The archive is an artifact (its bytes stored like every other file, byte for byte); the
    parameters and the file list are what was read from it when it arrived. The calculations it
    produced (runs) or that its owner linked to it are `calculations`.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="input_models")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    calculation_mode = models.CharField(max_length=100, blank=True)
    # The job file's path inside the archive (what the engine's /v1/calc/run is told to run).
    job_ini = models.CharField(max_length=255)
    # The job.ini's parameters as text, as the file gives them: {"investigation_time": "50", ...}.
    params = models.JSONField(default=dict)
    # [{"path": "source_model.xml", "size": 1234, "sha256": "...", "role": "source_model", ...}, ...]
    files = models.JSONField(default=list)
    # The folders and files as nested objects, each file's value its role.
    tree = models.JSONField(default=dict)
    # Files the job names that the engine finds among its own (a GSIM's tables), not in the archive.
    external = models.JSONField(default=list)
    # sha256 over the sorted (path, sha256) of its files: identical inputs are stored once per owner.
    digest = models.CharField(max_length=64)
    archive = models.OneToOneField("icebox.Artifact", on_delete=models.PROTECT, related_name="input_model")
    # The owner's labels, as a calculation's (engine.labels checks them): ?label= on the list.
    labels = ArrayField(models.CharField(max_length=LABEL_MAX_LENGTH), default=list, blank=True)
    calculations = models.ManyToManyField("engine.Calculation", through="InputLink", related_name="input_models")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "digest"], name="inputs_inputmodel_owner_digest_unique")]

    def __str__(self):
        return f"{self.name} (input model #{self.pk})"


class InputFile(models.Model):
    """One file of an input model, stored as an artifact of its kind (a source model drawn on the
    map, a logic tree as rows, ...; kept raw where no kind reads it)."""

    input_model = models.ForeignKey(InputModel, on_delete=models.CASCADE, related_name="input_files")
    path = models.CharField(max_length=1024)  # in the archive, '/'-separated
    role = models.CharField(max_length=100)  # 'job_ini', the engine's input type, or 'unreferenced'
    # SET_NULL: an artifact its owner deletes leaves the file listed (the archive still has it).
    artifact = models.OneToOneField("icebox.Artifact", on_delete=models.SET_NULL, null=True, related_name="input_file")

    class Meta:
        ordering = ["path", "id"]
        constraints = [models.UniqueConstraint(fields=["input_model", "path"], name="inputs_inputfile_unique")]


class LinkOrigin(models.TextChoices):
    RUN = "run"  # the calculation is the result of a run of this model by Icebox
    CONFIRMED = "confirmed"  # the owner said the model is this imported calculation's input
    IMPORTED = "imported"  # the engine listed it as the calculation's `input` output


class InputLink(models.Model):
    input_model = models.ForeignKey(InputModel, on_delete=models.CASCADE, related_name="links")
    calculation = models.ForeignKey("engine.Calculation", on_delete=models.CASCADE, related_name="input_links")
    origin = models.CharField(max_length=16, choices=LinkOrigin.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["input_model", "calculation"], name="inputs_inputlink_unique")]


class RunStatus(models.TextChoices):
    QUEUED = "queued"  # waiting for a worker (also after its worker died: taken up again)
    SUBMITTING = "submitting"  # the archive is being sent (a worker taking it up looks on the engine first)
    SUBMITTED = "submitted"  # the engine accepted it: engine_calc_id is known
    EXECUTING = "executing"
    IMPORTING = "importing"  # the engine completed it; its results are being imported
    COMPLETE = "complete"  # results imported and linked: `calculation`
    FAILED = "failed"  # `error` says why; `traceback` has the engine's lines when it failed there


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.SUBMITTING, RunStatus.SUBMITTED, RunStatus.EXECUTING, RunStatus.IMPORTING)


class Run(models.Model):
    """One run of an input model on an allow-listed engine, then the import of its results."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="input_runs")
    input_model = models.ForeignKey(InputModel, on_delete=models.PROTECT, related_name="runs")
    engine_url = models.CharField(max_length=255)  # EngineServerConfig.base_url: never credentials
    # job.ini overrides applied to a copy of the archive (the stored model never changes).
    params = models.JSONField(default=dict)
    hazard_job_id = models.PositiveIntegerField(null=True)
    # The job file to run, when not the model's own (a risk job.ini beside the hazard one).
    job_ini = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # Set, in its own commit, just before the archive is sent: from then on a worker taking the
    # run up again looks for the calc on the engine (by the marker in its description) instead
    # of submitting it a second time.
    submit_started = models.DateTimeField(null=True)
    engine_calc_id = models.PositiveIntegerField(null=True)
    engine_status = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    traceback = models.JSONField(default=list)
    import_job = models.OneToOneField("engine.ImportJob", on_delete=models.SET_NULL, null=True, related_name="run")
    calculation = models.ForeignKey("engine.Calculation", on_delete=models.SET_NULL, null=True, related_name="runs")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self):
        return f"run {self.pk} of input model {self.input_model_id}"

    @property
    def job_file(self) -> str:
        return self.job_ini or self.input_model.job_ini

    @property
    def marker(self) -> str:
        """Appended to the job's description on the engine: how a resumed run finds its calc."""
        return f"[icebox run {self.pk}]"
