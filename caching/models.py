"""The generation cache keeps no models: slots live in the cache backend.

This module exists so that ``migrate`` sends this app its ``post_migrate`` signal, which
creates the database cache table (see ``caching.apps``).
"""
