"""Settings for reviewmgr, read from the environment.

Development defaults are safe to run on a laptop (SQLite under ``var/``, tasks in-process).
Production sets at least ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``DATABASE_URL``; see docs/deploy.md.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REVIEWMGR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key(path: Path) -> str:
    """A random key kept in var/ so that a laptop install never runs on a key known to anyone."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "reviewmgr",
    "screening",
    "extraction",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "reviewmgr.middleware.RejectNullBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reviewmgr.urls"
WSGI_APPLICATION = "reviewmgr.wsgi.application"

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
                "django.template.context_processors.csp",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
# A PostgreSQL connection costs the server a new process: each web thread keeps its own for a
# minute (checked before reuse) unless DATABASE_CONN_MAX_AGE says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int(
            "DATABASE_CONN_MAX_AGE", 60 if DATABASE_URL.startswith("postgres") else 0
        ),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers carry on while a background import writes; IMMEDIATE transactions
    # make concurrent writers queue for the lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "reviewmgr.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reviewmgr:review_list"
LOGOUT_REDIRECT_URL = "login"

# Password guessing: after AXES_FAILURE_LIMIT wrong passwords for one username from one address,
# that pair is refused for AXES_COOLOFF_MINUTES. A lead can lift it early with `manage.py
# axes_reset_username NAME`. Behind a proxy, set TRUSTED_PROXY_COUNT.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# X-Forwarded-For is believed only when a proxy in front sets it (else anyone could forge it).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Background work goes through django.tasks. The embedded default runs tasks on a thread of
# the web process, so a laptop install needs no queue. With TASKS_REDIS_URL set, tasks go to
# a Redis queue (RQ) that `manage.py worker` processes consume; see docs/deploy.md. The queue's
# keys have fixed names, so two installs on one Redis server need two database numbers (the
# /0 ... /15 ending the URL), or a worker of one would run the other's tasks on its own data.
TASKS_REDIS_URL = os.environ.get("TASKS_REDIS_URL", "")
if TASKS_REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {
        "default": {
            "URL": TASKS_REDIS_URL,
            # A task may run this long before RQ stops it (a 100k-record import takes minutes).
            "DEFAULT_TIMEOUT": env_int("TASKS_TIMEOUT_SECONDS", 3600),
        }
    }
    TASKS = {
        "default": {
            "BACKEND": "django_tasks_rq.RQBackend",
            "QUEUES": ["default"],
        }
    }
else:
    TASKS = {"default": {"BACKEND": "reviewmgr.tasks_backend.ThreadBackend"}}

# A long task beats this often; after six missed beats it is taken for dead (its process gone).
REVIEWMGR_HEARTBEAT_SECONDS = float(os.environ.get("REVIEWMGR_HEARTBEAT_SECONDS") or 5)

# A shared cache (Redis) when several processes run: web processes and workers report and read
# import progress and heartbeats through it. One process's memory otherwise.
CACHE_URL = os.environ.get("CACHE_URL") or TASKS_REDIS_URL
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "reviewmgr"),
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
if CACHE_URL:
    # Sessions are read from the shared cache (written through to the database), sparing a
    # query per request. Only with a shared cache: one process's memory would keep a session
    # that another process ended at logout.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# E-mail carries password-reset links. EMAIL_URL names the mail server in one line, or EMAIL_HOST
# and its companions do; with neither, reviewmgr has no mailer, sends no mail, and its
# password-reset page says so (hence Django's warning about a missing mailer is silenced).
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_EMAIL_URL_BACKENDS = {
    "smtp": _SMTP_BACKEND,
    "smtps": _SMTP_BACKEND,
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
# A mail server that does not answer holds up the web process that asked it, so not for long.
_EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10)


def _smtp_mailer(**options: str | int | bool | None) -> dict:
    if options["use_tls"] and options["use_ssl"]:
        raise ImproperlyConfigured("E-mail: choose TLS (STARTTLS) or SSL, not both")
    return {"BACKEND": _SMTP_BACKEND, "OPTIONS": options | {"timeout": _EMAIL_TIMEOUT}}


def email_from_url(url: str) -> dict:
    """The mailer that `smtp://user:password@host:587/?tls=1`, `smtps://user:password@host`,
    `console://` or `locmem://` stand for. Errors never repeat the URL: it holds a password."""
    parts = urlsplit(url)
    if parts.scheme not in _EMAIL_URL_BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps://, console:// or locmem://, "
            f"not {parts.scheme or 'nothing'}://"
        )
    if _EMAIL_URL_BACKENDS[parts.scheme] != _SMTP_BACKEND:
        return {"BACKEND": _EMAIL_URL_BACKENDS[parts.scheme]}
    options = {name: values[-1].lower() for name, values in parse_qs(parts.query).items()}
    if unknown := sorted(set(options) - {"tls", "ssl"}):
        raise ImproperlyConfigured(f"EMAIL_URL knows the options tls and ssl, not {unknown}")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has a port that is not a number") from None
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no host, e.g. smtp://mail.example.org:587")
    return _smtp_mailer(
        host=parts.hostname,
        port=port,  # None: 465 with SSL, 587 with TLS, else 25
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=options.get("tls") in {"1", "true", "yes", "on"},
        use_ssl=parts.scheme == "smtps" or options.get("ssl") in {"1", "true", "yes", "on"},
    )


if os.environ.get("EMAIL_URL"):
    MAILERS = {"default": email_from_url(os.environ["EMAIL_URL"])}
elif os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": _smtp_mailer(
            host=os.environ["EMAIL_HOST"],
            port=env_int("EMAIL_PORT", 0) or None,
            username=os.environ.get("EMAIL_HOST_USER", ""),
            password=os.environ.get("EMAIL_HOST_PASSWORD", ""),
            use_tls=env_bool("EMAIL_USE_TLS"),
            use_ssl=env_bool("EMAIL_USE_SSL"),
        )
    }
else:
    MAILERS = {}
    SILENCED_SYSTEM_CHECKS = ["mail.W001"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "reviewmgr@localhost")

# Uploads: reference exports can be large; the limit is the product's, not Django's in-memory one.
REVIEWMGR_MAX_UPLOAD_BYTES = env_int("REVIEWMGR_MAX_UPLOAD_MB", 200) * 1024 * 1024
# How long a record newly on the screening screen holds its keys and buttons, so that the second
# press of a quick double press never decides the record that has just replaced the first.
REVIEWMGR_SCREEN_SETTLE_MS = env_int("REVIEWMGR_SCREEN_SETTLE_MS", 300)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "frame-src": [CSP.SELF],
    "frame-ancestors": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept default
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # a view that must be framed (a PDF beside its form) opts in
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = (
        ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", True) else None
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is empty")

# The REST API (api/): personal tokens for scripts, the session for the browser; the same
# gate as the pages decides access. The schema is OpenAPI 3, served with its docs.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONWithoutNullBytes",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "URL_FORMAT_OVERRIDE": None,  # JSON only: no ?format= switch
}
SPECTACULAR_SETTINGS = {
    "TITLE": "reviewmgr API",
    "DESCRIPTION": (
        "Reviews, records, imports, screening decisions, conflicts, studies with their "
        "consensus data, PRISMA counts and exports. Authenticate with a personal token "
        "(`Authorization: Bearer <token>`); the same roles and blinding rules as the pages apply."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_refusals",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "screening.models.Stage",
        "VerdictEnum": "screening.models.Verdict",
    },
}
