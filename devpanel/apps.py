"""Two app configs: the dev panel's own app (its static files) and the admin, whose
default site becomes :class:`devpanel.sites.GenpipeAdminSite`.

``DevpanelAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS``: every app's
``admin.site`` and ``@admin.register`` then use the genpipe site, with nothing to change in
the apps themselves.
"""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class DevpanelConfig(AppConfig):
    name = "devpanel"
    verbose_name = "Dev panel"


class DevpanelAdminConfig(AdminConfig):
    default_site = "devpanel.sites.GenpipeAdminSite"
