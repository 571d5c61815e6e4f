"""The dev panel: genpipe's admin site, its site-wide pages and their static files."""
