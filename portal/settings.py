"""Portal settings, all read from the environment (django-environ).

Development works with no environment at all (SQLite under var/, local Redis). Production is
DEBUG off: then SECRET_KEY is required and every `check --deploy` hardening setting is on.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
else:
    SECRET_KEY = env("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "accounts",
    "media_library",
    "jobs",
    "portal",  # templatetags (portal_ui) and static files (portal/app.css, app.js)
]

MIDDLEWARE = [
    "portal.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ActiveDepartmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.departments",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

# --- Database: SQLite under var/ by default, PostgreSQL (psycopg 3) when DATABASE_URL says so.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web process write concurrently; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A file, not memory, so worker processes started by tests share the test database; one per
    # test run (pid), so two runs on one checkout never delete each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and queues (django-rq). The database is the record of truth; RQ only carries work.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
_QUEUE = {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600, "SERIALIZER": "rq.serializers.JSONSerializer"}
RQ_QUEUES = {"default": dict(_QUEUE), "ingest": dict(_QUEUE), "gpu": dict(_QUEUE, DEFAULT_TIMEOUT=3600)}
RQ_SHOW_ADMIN_LINK = True
RQ = {"WORKER_CLASS": "jobs.worker.PortalWorker"}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))

# --- Media: never served from a public URL. Files leave only through permission-checked views;
# with MEDIA_ACCEL_REDIRECT_PREFIX set, those views hand the transfer to an nginx `internal` location.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = None
MEDIA_ACCEL_REDIRECT_PREFIX = env("MEDIA_ACCEL_REDIRECT_PREFIX", default="")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploads stream to a temp file on disk
FILE_UPLOAD_PERMISSIONS = 0o640

# --- Synthesis engine
WAV2LIP_CHECKPOINT = env("WAV2LIP_CHECKPOINT", default="")
SYNTHESIS_CACHE_DIR = Path(env("SYNTHESIS_CACHE_DIR", default=str(VAR_DIR / "cache")))
MIN_FREE_DISK_BYTES = env.int("MIN_FREE_DISK_BYTES", default=1024**3)

# --- Operations: logs to stdout and var/log/portal.log, every line with the request id.
LOG_DIR = Path(env("LOG_DIR", default=str(VAR_DIR / "log")))
Path(LOG_DIR).mkdir(parents=True, exist_ok=True)
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "formatters": {
        "standard": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": "standard",
        },
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(Path(LOG_DIR) / "portal.log"),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 5,
            "filters": ["request_id"],
            "formatter": "standard",
        },
    },
    "root": {"handlers": ["console", "file"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Audit trail: kept forever unless an operator sets a retention period (`manage.py prune_audit`).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=None)
# Reverse proxies whose X-Forwarded-For is believed for the client IP (addresses or networks).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Security. Production (DEBUG off) gets every hardening setting `check --deploy` asks for;
# TLS terminates at the reverse proxy, which sets X-Forwarded-Proto.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.handle_exception",
    "DEFAULT_THROTTLE_RATES": {  # per user, per scope (portal.api.throttles)
        "upload": env("API_THROTTLE_UPLOAD", default="120/hour"),
        "job_create": env("API_THROTTLE_JOB_CREATE", default="120/hour"),
        "download": env("API_THROTTLE_DOWNLOAD", default="600/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lip-sync portal API",
    "DESCRIPTION": "Presenters, audio, batch jobs and downloads for integrations. Authenticate with "
    "`Authorization: Token <key>` (create a key on the API tokens page).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # offline product: Swagger UI assets are served locally, never from a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "MediaStatusEnum": "media_library.models.MediaStatus",
        "BatchStatusEnum": "jobs.models.BatchStatus",
        "ItemStatusEnum": "jobs.models.ItemStatus",
        "DeliveryStatusEnum": "jobs.webhook_models.DeliveryStatus",
    },
}

# --- Webhooks (jobs.webhooks): retries need workers started with --with-scheduler
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
WEBHOOK_RETRY_INTERVALS = env.list("WEBHOOK_RETRY_INTERVALS", cast=int, default=[10, 60, 300, 1800, 7200])

# --- Product limits
DEMO_MODE = env.bool("DEMO_MODE", default=False)

# --- Batch jobs
JOB_TIMEOUT_BASE_S = env.int("JOB_TIMEOUT_BASE_S", default=300)
JOB_TIMEOUT_PER_AUDIO_SECOND = env.float("JOB_TIMEOUT_PER_AUDIO_SECOND", default=30.0)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)  # engine crashes (infrastructure), never input errors
JOB_MAX_REQUEUES = env.int("JOB_MAX_REQUEUES", default=3)  # recoveries from a dead worker or lost queue
JOB_HEARTBEAT_INTERVAL_S = env.float("JOB_HEARTBEAT_INTERVAL_S", default=5.0)
JOB_HEARTBEAT_TIMEOUT_S = env.float("JOB_HEARTBEAT_TIMEOUT_S", default=60.0)
JOB_LOST_GRACE_S = env.float("JOB_LOST_GRACE_S", default=30.0)  # a queued item's RQ job may be missing this long
RECONCILE_INTERVAL_S = env.int("RECONCILE_INTERVAL_S", default=15)
SYNTHESIS_DEVICE = env("SYNTHESIS_DEVICE", default="")  # cpu | cuda; empty = cuda when available
DEFAULT_SYNTHESIS_BACKEND = env("DEFAULT_SYNTHESIS_BACKEND", default="warp")  # preloaded by GPU workers

# --- Media library limits (nginx caps the request body too; Django re-checks every upload)
MAX_VIDEO_UPLOAD_BYTES = env.int("MAX_VIDEO_UPLOAD_BYTES", default=2 * 1024**3)
MAX_AUDIO_UPLOAD_BYTES = env.int("MAX_AUDIO_UPLOAD_BYTES", default=200 * 1024**2)
MAX_MEDIA_DURATION_S = env.float("MAX_MEDIA_DURATION_S", default=2 * 3600.0)
MAX_VIDEO_WIDTH = env.int("MAX_VIDEO_WIDTH", default=4096)
MAX_VIDEO_HEIGHT = env.int("MAX_VIDEO_HEIGHT", default=4096)
MEDIA_PROBE_TIMEOUT_S = env.float("MEDIA_PROBE_TIMEOUT_S", default=20.0)
INGEST_JOB_TIMEOUT_S = env.int("INGEST_JOB_TIMEOUT_S", default=1800)
TTS_ENGINE = env("TTS_ENGINE", default="espeak")  # synthesis.tts.get_tts name; pluggable offline voices
