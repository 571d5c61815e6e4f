"""The OpenAPI schema generates without warnings and describes every endpoint."""

from __future__ import annotations

import io

import yaml
from django.core.management import call_command


def test_schema_validates_and_lists_the_endpoints(db, tmp_path):
    target = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=io.StringIO()
    )
    schema = yaml.safe_load(target.read_text())
    paths = set(schema["paths"])
    assert {
        "/api/v1/generations",
        "/api/v1/generations/{generation_id}",
        "/api/v1/generations/{generation_id}/cancel",
        "/api/v1/generations/{generation_id}/retry",
        "/api/v1/generations/validate",
        "/api/v1/generations/simple-image-to-video",
        "/api/v1/generations/social-context/build",
    } <= paths
