"""Icebox settings: everything that differs between machines comes from the environment.

Outside DEBUG there is no default for a secret or a database: a missing value stops start-up
with a message naming the variable. README.md lists every variable.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from engine.servers import parse_engine_servers
from icebox.env import blob_storage_from_env, env_bool, env_int, env_list, env_path, env_rate, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "insecure-debug-only-key" if DEBUG else None, required=not DEBUG)
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters outside DEBUG")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])

DATABASES = {
    "default": parse_database_url(
        env_str(
            "DATABASE_URL",
            "postgis://icebox:icebox@127.0.0.1:5432/icebox" if DEBUG else None,
            required=not DEBUG,
        )
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT compilation on any of our connections: every statement here is short, and PostgreSQL
# compiles when the planner's cost estimate is high, which an OR of EXISTS over a hundred thousand
# artifacts is (the list's count with shares: 0.4 s of its 0.5 s went to compiling). PERF-NOTES.md.
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = (_options.get("options", "") + " -c jit=off").strip()
# Each session keeps up to twice this many MB its statements freed, rather than faulting them in
# again for the next statement (core/backend_memory.py); 0 leaves the server's malloc as it is.
ICEBOX_DB_KEEP_FREED_MB = env_int("ICEBOX_DB_KEEP_FREED_MB", 8, minimum=0, maximum=31)
# Two checkouts testing on one server at once must not share (and drop) one test database.
DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME")}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "blobs",
    "icebox",
    "geo",
    "artifacts",
    "django_tasks",
    "django_tasks_db",
    "engine",
    "sharing",
    "compare",
    "throttling",
    "explore",
    "inputs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # gzip: fast (ISA-L) for the data Icebox serves, Django's own for HTML pages (icebox/compression.py).
    "icebox.compression.CompressionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The admin's and the browsable API's login forms share /api/token's password-guess limits.
    "throttling.login_forms.LoginFormThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "icebox.urls"
WSGI_APPLICATION = "icebox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cookies travel only over HTTPS unless told otherwise: `make run` serves plain HTTP on
# 127.0.0.1 and says so with ICEBOX_SECURE_COOKIES=0.
SESSION_COOKIE_SECURE = env_bool("ICEBOX_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token authentication, its lookup one fixed statement (icebox/authentication.py).
        "icebox.authentication.TokenAuthentication",
        # Basic carrying the API token, for QGIS (icebox/authentication.py).
        "icebox.authentication.BasicTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "icebox.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("ICEBOX_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_SCHEMA_CLASS": "icebox.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "icebox.api_errors.exception_handler",
    # `format` is Icebox's own parameter on /artifact/<id> (`format=raw`), not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_THROTTLE_CLASSES": ["throttling.throttles.UserThrottle", "throttling.throttles.AnonymousThrottle"],
    # X-Forwarded-For is believed only behind this many proxies: without one, any client could
    # send a new address with every request and never be throttled.
    "NUM_PROXIES": env_int("ICEBOX_NUM_PROXIES", 0, minimum=0),
}

# Throttle rates (README, Throttling). A map client fetches dozens of tiles a second while the
# user pans: the per-user rate bounds abuse, not maps. /api/token checks passwords: its rates
# bound guessing, per client address and per username tried.
ICEBOX_THROTTLE_RATES = {
    "user": env_rate("ICEBOX_THROTTLE_USER", "6000/minute"),
    "anonymous": env_rate("ICEBOX_THROTTLE_ANONYMOUS", "600/minute"),
    "token_address": env_rate("ICEBOX_THROTTLE_TOKEN_ADDRESS", "10/minute"),
    "token_username": env_rate("ICEBOX_THROTTLE_TOKEN_USERNAME", "10/minute"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Icebox API",
    "DESCRIPTION": "Permanent store and spatial API for OpenQuake Engine hazard results.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Limits on what a user may upload (streamed to disk, never held in memory: 50 GiB by default)
# and on what is parsed: a file a kind reads, or what a zip may expand to, is read whole.
ICEBOX_MAX_UPLOAD_BYTES = env_int("ICEBOX_MAX_UPLOAD_BYTES", 50 * 1024**3, minimum=1)
ICEBOX_MAX_UNCOMPRESSED_BYTES = env_int("ICEBOX_MAX_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024, minimum=1)

# The bytes of every artifact, once per content (blobs/): a directory (default var/blobs) or an
# S3-compatible bucket shared by every web and worker machine. README.md, "Storage".
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "blobs": blob_storage_from_env(BASE_DIR / "var" / "blobs"),
}

# Map reads (docs/maps.md): how long a client may reuse an artifact response without asking
# again (artifacts never change; revalidation with If-None-Match costs one row read), the
# zoom levels TileJSON advertises, and the page sizes of OGC API Features items.
ICEBOX_CACHE_MAX_AGE = env_int("ICEBOX_CACHE_MAX_AGE", 300, minimum=0)
ICEBOX_TILE_MINZOOM = env_int("ICEBOX_TILE_MINZOOM", 0, minimum=0)
ICEBOX_TILE_MAXZOOM = env_int("ICEBOX_TILE_MAXZOOM", 16, minimum=0)
if not ICEBOX_TILE_MINZOOM <= ICEBOX_TILE_MAXZOOM <= 24:
    raise ImproperlyConfigured("ICEBOX_TILE_MINZOOM <= ICEBOX_TILE_MAXZOOM <= 24 must hold")
ICEBOX_OGC_DEFAULT_LIMIT = env_int("ICEBOX_OGC_DEFAULT_LIMIT", 10, minimum=1)
ICEBOX_OGC_MAX_LIMIT = env_int("ICEBOX_OGC_MAX_LIMIT", 10000, minimum=1)
# PostgreSQL parses the CSV of an upload or import (geo/csv_load.py; the Python parser still
# decides every file it cannot prove both read alike). 0: Python parses every file, as before.
ICEBOX_PARSE_IN_DATABASE = env_bool("ICEBOX_PARSE_IN_DATABASE", True)
# Dropping a deleted artifact's partition locks the whole feature table: new reads wait behind
# it, at most this long, before it gives up and leaves the partition to the next sweep (geo.loading).
ICEBOX_PARTITION_DROP_LOCK_TIMEOUT_MS = env_int("ICEBOX_PARTITION_DROP_LOCK_TIMEOUT_MS", 50, minimum=1)
# An artifact of at most this many rows goes into the feature table's shared partition; a bigger
# one gets a partition of its own, loaded at the COPY floor (README "Storage layout", geo.loading).
ICEBOX_SHARED_PARTITION_MAX_ROWS = env_int("ICEBOX_SHARED_PARTITION_MAX_ROWS", 20000, minimum=0)
# Django refuses multipart bodies above this before our own check can name the file.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Every temporary file of Icebox (uploads too big for memory, an import's downloads) lives here,
# locked by the process using it, so that what a killed process leaves is found and removed
# (icebox.tempfiles). Web processes sweep it when they start, workers also periodically.
ICEBOX_TMP_DIR = env_path("ICEBOX_TMP_DIR", BASE_DIR / "var" / "tmp")
FILE_UPLOAD_TEMP_DIR = str(ICEBOX_TMP_DIR)
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "icebox.tempfiles.LockedTemporaryFileUploadHandler",
]
# Seconds between two rounds of icebox.housekeeping in each worker (failing the imports of dead
# workers, removing orphaned temporary files).
ICEBOX_HOUSEKEEPING_INTERVAL = env_int("ICEBOX_HOUSEKEEPING_INTERVAL", 60, minimum=1)

# GDAL < 3.9 cannot block file and network access while reading spatial references. No user
# input reaches GDAL here: regions are built by GEOS from WKT or from GeoJSON coordinates.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Engine servers imports may read from: comma-separated base URLs, RESTRICTED-mode credentials
# in the userinfo (http://user:password@host:port). Empty: no imports. See docs/import.md.
ICEBOX_ENGINE_SERVERS = parse_engine_servers(env_str("ICEBOX_ENGINE_SERVERS", ""))
ICEBOX_ENGINE_CONNECT_TIMEOUT = env_int("ICEBOX_ENGINE_CONNECT_TIMEOUT", 10, minimum=1)
# Seconds without a byte from the engine: exporting a big calc can take a while before the first one.
ICEBOX_ENGINE_READ_TIMEOUT = env_int("ICEBOX_ENGINE_READ_TIMEOUT", 300, minimum=1)
# A run of an input model on an engine (inputs/runs.py): how often its status is asked, and how
# long after its submission the run gives up waiting (the calc is left running on the engine).
ICEBOX_RUN_POLL_SECONDS = env_int("ICEBOX_RUN_POLL_SECONDS", 5, minimum=1)
ICEBOX_RUN_TIMEOUT_SECONDS = env_int("ICEBOX_RUN_TIMEOUT_SECONDS", 24 * 3600, minimum=1)
ICEBOX_ENGINE_MAX_DOWNLOAD_BYTES = env_int("ICEBOX_ENGINE_MAX_DOWNLOAD_BYTES", ICEBOX_MAX_UPLOAD_BYTES, minimum=1)
# The whole HDF5 datastore of a calc ("datastore": true in an import): often far bigger than any
# export, so bounded on its own.
ICEBOX_ENGINE_MAX_DATASTORE_BYTES = env_int("ICEBOX_ENGINE_MAX_DATASTORE_BYTES", ICEBOX_ENGINE_MAX_DOWNLOAD_BYTES, minimum=1)

# Background work (imports) goes through Django's Tasks API; the database backend needs no
# service beyond PostgreSQL. Workers: `python manage.py icebox_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
