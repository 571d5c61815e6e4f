"""Authentication, DRF, the OpenAPI schema, request limits, locale."""

from __future__ import annotations

import os

from .environment import DEBUG, env_bool, env_int

# --- Auth, API ----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Seconds a process keeps token -> user and the user's workspaces (core.auth; 0: off).
GENPIPE_AUTH_CACHE_S = float(os.environ.get("GENPIPE_AUTH_CACHE_S", "2"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.CachedTokenAuthentication",  # token -> user kept GENPIPE_AUTH_CACHE_S
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["generations.parsers.BoundedJSONParser"],
    # DRF's, with orjson for documents that vouch for plain JSON (list pages).
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.UserRateThrottle",
        "core.throttling.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("GENPIPE_THROTTLE_USER", "6000/min"),
        "generation_create": os.environ.get("GENPIPE_THROTTLE_CREATE", "1200/min"),
    },
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if env_bool("GENPIPE_BROWSABLE_API", default=DEBUG):
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        "core.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

SPECTACULAR_SETTINGS = {
    "TITLE": "genpipe API",
    "DESCRIPTION": "Structured content generation for games: create, dedup, cache, track.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ContentRatingEnum": "generations.models.ContentRating"},
    # The docs page loads Swagger UI from our own static files, never from a CDN, and
    # does not send the schema to swagger.io's online validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation documents the errors any request may get (core.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The SSE endpoints are async Django views: documented by a hook (streams.openapi).
        "streams.openapi.add_stream_paths",
        "core.schema.global_error_responses",
    ],
}

# Request bodies are small JSON documents; anything bigger is a 413 (core.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("GENPIPE_MAX_BODY_BYTES", 256 * 1024)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
