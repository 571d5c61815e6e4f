"""Django itself: the apps, the middleware, the URL and server entry points, templates."""

from __future__ import annotations

from .environment import BASE_DIR

INSTALLED_APPS = [
    "devpanel.apps.DevpanelAdminConfig",  # django.contrib.admin, its default site genpipe's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc served from our static files
    "core.apps.CoreConfig",
    "generations",
    "telemetry",
    "caching",
    "experiments",
    "budgets",
    "webhooks",
    "observability.apps.ObservabilityConfig",
    "streams",
    "devpanel.apps.DevpanelConfig",
]

MIDDLEWARE = [
    "core.logs.RequestIdMiddleware",  # first: every later log line has the id
    "core.middleware.BadInputMiddleware",  # NUL in a query string or header: 400
    # API paths: a body over the cap is a 413 before any work, an unrouted path a 404,
    # both in the envelope (never Django's HTML or debug pages).
    "core.middleware.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, dev panel, API docs) straight from the web process, before the
    # session and auth work a static request does not need.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "genpipe_site.urls"
WSGI_APPLICATION = "genpipe_site.wsgi.application"
ASGI_APPLICATION = "genpipe_site.asgi.application"

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
            ],
        },
    },
]
