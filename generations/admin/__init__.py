"""The generations app's admin, one module per concern; importing them registers them.

The site-wide dev panel pages (entry, provider health, cache, validation) live in the
``devpanel`` app, on its admin site.
"""

from . import audit, generations, prompts, providers, workspaces

__all__ = ["audit", "generations", "prompts", "providers", "workspaces"]
