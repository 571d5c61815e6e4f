"""``migrate`` alone makes the database cache usable (no ``createcachetable`` step)."""

from __future__ import annotations

from tests.embedded import embedded_site


def test_migrate_creates_the_database_cache_table(tmp_path):
    site = embedded_site(tmp_path)  # runs migrate and nothing else
    out = site.shell(
        "from django.core.cache import cache, caches\n"
        "print(type(caches['default']).__name__)\n"
        "cache.set('probe', 41)\n"
        "print(cache.get('probe') + 1)\n"
    )
    assert out.split()[-2:] == ["DatabaseCache", "42"]
    again = site.manage("migrate", "-v0")  # idempotent on an existing table
    assert again.returncode == 0, again.stderr
