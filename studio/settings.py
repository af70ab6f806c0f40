"""Persona Studio settings: the one settings module, read from the environment.

Two ways to run with the same code (SPEC §1):
- embedded (no REDIS_URL): SQLite under var/, in-memory channel layer,
  a Celery worker thread inside the server process on an in-memory broker;
- services (REDIS_URL set): DATABASE_URL (PostgreSQL), channels_redis, and
  separate `celery -A studio worker` processes.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

# litellm fetches its cost map from the network at import unless told not to;
# this must be set before anything imports litellm.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STUDIO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under var/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "guardian",
    "ninja",
    "studio",
    "studio.config",
    "studio.safety",
    "studio.webhooks",
    "personas",
    "pipeline",
    "audits",
    "audits.chat",
    "audits.evals",
    "audits.reviews",
    "audits.traits",
    "training_jobs",
    "training_jobs.datasets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "studio.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "studio.middleware.StudioErrorMiddleware",
    # The safety floor sits below every view (persona code included): a locked-out user's persona
    # routes answer with the lockout before any view runs.
    "studio.safety.middleware.SafetyFloorMiddleware",
    # Dataset uploads stream to disk and stop at DATASET_UPLOAD_MAX_BYTES (413), before the CSRF check parses them.
    "training_jobs.datasets.uploads.DatasetUploadMiddleware",
    # One input boundary (NUL, lone surrogates, out-of-range integers, oversized query strings) before any view;
    # after the upload middleware, so a multipart body is parsed with its streaming handler.
    "studio.input_boundary.InputBoundaryMiddleware",
    # Rate limits (studio/ratelimit.py): after authentication and the safety floor's API-key lookup.
    "studio.ratelimit.RateLimitMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "studio.context_processors.studio",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'studio.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded worker writes from another thread: wait for locks instead of failing.
    # WAL + synchronous=NORMAL: commits don't fsync (durable across crashes of the process, not of power).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    # A file (not :memory:) so the embedded worker's threads share it; one per test process.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-studio-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users get no object permissions

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the app and project folders in both modes: no collectstatic step needed.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Bad input must end in a clear 4xx: request bodies above this are refused with 413/400.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2 * 1024 * 1024)))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Persona Studio <studio@localhost>")

# --- realtime and background work -------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED_MODE = not REDIS_URL

if REDIS_URL:
    # One cache for every server process: the rate-limit counters are shared.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # redis-py 8 reads with a 5 s socket timeout by default, which cuts channels_redis' 5 s blocking pop (every
    # idle WebSocket consumer crashed and reconnected every ~5 s): give reads room beyond that pop.
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]}}
    }
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport with the fix that keeps the worker alive through a Redis restart (see the module).
    CELERY_BROKER_TRANSPORT = "studio.work.broker:Transport"
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "studio.realtime.ThreadSafeInMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.05}  # in-process queue: poll it often

CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ROUTES = {"training_jobs.tasks.run_training_job": {"queue": "gpu"}}  # training needs a GPU worker when one exists
# Periodic work. The embedded worker and `make worker` run beat in-process.
# One reaper for every kind of background work (studio.work.reaper): resume or fail what a dead worker left.
CELERY_BEAT_SCHEDULE = {
    "reap-stale-work": {"task": "studio.work.tasks.reap_stale_work", "schedule": float(os.environ.get("WORK_REAP_EVERY_S", "10"))},
}
CELERY_BEAT_SCHEDULE["requeue-overdue-webhooks"] = {"task": "studio.webhooks.tasks.requeue_overdue_deliveries", "schedule": 60.0}
# Housekeeping, not reaping: dataset import previews nobody confirmed within a day are removed with their files.
CELERY_BEAT_SCHEDULE["clear-stale-dataset-imports"] = {"task": "training_jobs.datasets.tasks.clear_stale_dataset_imports", "schedule": 600.0}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Embedded worker threads inside the server process.
EMBEDDED_WORKER_CONCURRENCY = int(os.environ.get("EMBEDDED_WORKER_CONCURRENCY", "4"))

# --- credentials ------------------------------------------------------------------
# Fernet keys for provider credentials, newest first (rotation: prepend a new key).
# Unset: one key derived from SECRET_KEY.
CREDENTIAL_KEYS = env_list("STUDIO_CREDENTIAL_KEYS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "LiteLLM": {"level": "WARNING"},
    },
}

SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept default
SESSION_COOKIE_HTTPONLY = True
# Secure cookies unless DEBUG: browsers keep them over http only for localhost (where `make run` serves), so a
# deployment behind TLS never sends a session in clear. COOKIES_SECURE=0 for a plain-http deployment on another host.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("COOKIES_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True  # X-Content-Type-Options: nosniff
SECURE_REFERRER_POLICY = "same-origin"
# Scripts only from our own static files (no inline script, no eval: htmx runs with allowEval off). Styles allow
# inline: progress bars and charts size themselves with style attributes, and htmx adds its indicator style.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
    "frame-ancestors 'none'",
])
X_FRAME_OPTIONS = "DENY"

# --- rate limits (studio/ratelimit.py; django-ratelimit's counters in the cache) ---------------
# Per client IP behind a proxy needs REMOTE_ADDR set from X-Forwarded-For by that proxy's integration.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_USE_CACHE = "default"
RATE_LIMITS = {
    "login_ip": os.environ.get("RATE_LIMIT_LOGIN_IP", "30/m"),  # sign-in attempts from one address
    "login_username": os.environ.get("RATE_LIMIT_LOGIN_USERNAME", "10/m"),  # … for one username, from anywhere
    "password_ip": os.environ.get("RATE_LIMIT_PASSWORD_IP", "10/m"),  # setting a password (accepting an invitation)
    "password_token": os.environ.get("RATE_LIMIT_PASSWORD_TOKEN", "10/m"),
    "invitations": os.environ.get("RATE_LIMIT_INVITATIONS", "30/h"),  # per organization
    "api_keys": os.environ.get("RATE_LIMIT_API_KEYS", "30/h"),  # per organization
    "organizations": os.environ.get("RATE_LIMIT_ORGANIZATIONS", "10/h"),  # organizations one member creates
    "api": "600/m",  # per API key; an org changes its own with the config key limits.api_per_minute
    "spend": "30/m",  # per key or member; an org changes its own with limits.spend_per_minute
}

# --- the work engine (studio.work) ------------------------------------------------
# A worker writes its item's heartbeat every WORK_HEARTBEAT_S while it works; an item whose heartbeat is older than
# WORK_STALE_AFTER_S has a dead worker: a redelivered task or the reaper takes it over, and kinds that can resume
# continue from their last completed step or stage (up to WORK_MAX_ATTEMPTS claims), the others fail naming where.
WORK_HEARTBEAT_S = float(os.environ.get("WORK_HEARTBEAT_S", "5"))
WORK_STALE_AFTER_S = int(os.environ.get("WORK_STALE_AFTER_S", "30"))
WORK_MAX_ATTEMPTS = int(os.environ.get("WORK_MAX_ATTEMPTS", "3"))
WORK_QUEUED_STALE_S = int(os.environ.get("WORK_QUEUED_STALE_S", "1800"))  # queued this long, never picked up: the message was lost

# --- generation pipeline ----------------------------------------------------------
LLM_MAX_RETRIES = int(os.environ.get("LLM_MAX_RETRIES", "2"))
LLM_RETRY_BACKOFF_S = float(os.environ.get("LLM_RETRY_BACKOFF_S", "0.5"))
LLM_TIMEOUT_S = float(os.environ.get("LLM_TIMEOUT_S", "60"))
# The offline demo engine answers instantly; this pause per call lets people watch a run go by.
OFFLINE_LLM_LATENCY_S = float(os.environ.get("OFFLINE_LLM_LATENCY_S", "0.25"))

# --- audits after generation --------------------------------------------------------
# Fingerprint and provocation suite start when a generation run commits (tests switch this off
# unless they test those jobs, so every generation test does not also run ~100 extra calls).
POST_GENERATION_JOBS = os.environ.get("POST_GENERATION_JOBS", "1") == "1"
AUDIT_CONCURRENCY = int(os.environ.get("AUDIT_CONCURRENCY", "8"))  # LLM calls in flight per audit job

# --- safety floor ----------------------------------------------------------------------
SAFETY_LOCKOUT_HOURS = 12  # fixed by the product: not an env knob, not an org config key

# --- webhooks ----------------------------------------------------------------------------
# Endpoints resolving to loopback/private/link-local addresses are refused unless this is on
# (tests turn it on for a local receiver).
WEBHOOKS_ALLOW_PRIVATE_URLS = os.environ.get("WEBHOOKS_ALLOW_PRIVATE_URLS", "0") == "1"
WEBHOOK_MAX_ATTEMPTS = 5
WEBHOOK_BACKOFF_S = float(os.environ.get("WEBHOOK_BACKOFF_S", "10"))  # first retry; doubles each time
WEBHOOK_TIMEOUT_S = float(os.environ.get("WEBHOOK_TIMEOUT_S", "10"))

# --- local models (issue 14) -------------------------------------------------------------
# Converted / unzipped copies of the packaged local models (studio/llm/local_models.py). Shared by every
# var dir of this checkout (tests use their own var dirs), so the conversion happens once per checkout.
MODELS_DIR = Path(os.environ.get("STUDIO_MODELS_DIR", BASE_DIR / "var" / "models"))
# Data derived from installed packages, shared like MODELS_DIR and safe to delete (studio/config/model_names.py).
CACHE_DIR = Path(os.environ.get("STUDIO_CACHE_DIR", BASE_DIR / "var" / "cache"))
# Parallel sequences the local chat model serves at once (continuous batching) and its context per sequence.
# With no provider credentials, the local models are the defaults (student, chat, eval and dataset replies,
# embeddings); off, the deterministic offline engine and the `tiny` test checkpoint are (the test suite's
# default, for speed: tests that want the real models are marked `local_models`).
LOCAL_MODELS_DEFAULT = os.environ.get("STUDIO_LOCAL_MODELS", "1") != "0"
LOCAL_LLM_PARALLEL = int(os.environ.get("LOCAL_LLM_PARALLEL", "0"))  # 0: twice the cores, 2 to 8
LOCAL_LLM_CONTEXT = int(os.environ.get("LOCAL_LLM_CONTEXT", "2048"))
# llama.cpp's threads meet at spin barriers: on a shared machine one preempted thread stalls the others (on 2 busy
# cores, 2 threads ran at 1.6 tokens/s where 1 thread ran at 14–50). 0: half the cores, at least one.
LOCAL_LLM_THREADS = int(os.environ.get("LOCAL_LLM_THREADS", "0"))
LOCAL_EMBEDDING_THREADS = int(os.environ.get("LOCAL_EMBEDDING_THREADS", "0"))  # 0: half the cores, at least one

# --- training jobs ------------------------------------------------------------------------
# Artifacts (JSONL data, adapters, metrics) live under one folder per org and job.
TRAINING_ARTIFACTS_DIR = Path(os.environ.get("TRAINING_ARTIFACTS_DIR", VAR_DIR / "training"))
TRAINING_QUEUED_STALE_S = int(os.environ.get("TRAINING_QUEUED_STALE_S", "1800"))  # queued this long: the task was lost
# The burn-rate kill criterion waits this long before judging a job's spend per hour (early rates are noise).
TRAINING_BURN_MIN_ELAPSED_S = float(os.environ.get("TRAINING_BURN_MIN_ELAPSED_S", "60"))
# Workers that can reach a model hub (GPU workers) may load student checkpoints by hub id.
TRAINING_ALLOW_HUB = os.environ.get("TRAINING_ALLOW_HUB", "0") == "1"
# CPU threads torch may use for training on a CPU worker (the tiny model); 0 leaves torch's default. One: the tiny
# model's ops are too small to gain from a second thread, and with another process busy on a 2-core machine two
# threads wait on each other (smoke DPO + SFT 0.8 s with 1 thread, 4.9 s with 2 under load; benchmark 7c).
TRAINING_TORCH_THREADS = int(os.environ.get("TRAINING_TORCH_THREADS", "1"))

# --- datasets --------------------------------------------------------------------------------------
# Uploaded files larger than this are refused with 413 (checked on Content-Length, then counted while streaming).
DATASET_UPLOAD_MAX_BYTES = int(os.environ.get("DATASET_UPLOAD_MAX_BYTES", str(512 * 1024 * 1024)))
# Uploaded files wait here between the preview and the confirm (a day at most).
DATASET_IMPORTS_DIR = Path(os.environ.get("DATASET_IMPORTS_DIR", VAR_DIR / "dataset-imports"))
