"""The README's monitoring lines work as written: the command makes a staff token, the
staff-only ``curl`` lines answer it (and refuse a member's), the member line answers a
member's token."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management import call_command
from rest_framework.test import APIClient

README = Path(__file__).resolve().parents[1] / "README.md"


def _monitoring_block() -> str:
    section = README.read_text().split("**Monitoring with `curl`.**", 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_readme_s_monitoring_lines_need_and_get_a_staff_token(db, sandbox, api, user):
    block = _monitoring_block()
    command = re.search(r"^STAFF_TOKEN=\$\((.*)\)$", block, re.M)
    assert command, block
    argv = shlex.split(command.group(1))
    assert argv[:3] == [".venv/bin/python", "manage.py", "create_api_token"]
    out = io.StringIO()
    call_command(*argv[2:], stdout=out)
    staff_token = out.getvalue().strip()
    member_token = _client_token(user)

    lines = re.findall(r'^curl -s -H "Authorization: Token \$(\w+)" "?(\S+?)"?$', block, re.M)
    assert {name for name, _ in lines} == {"STAFF_TOKEN", "TOKEN"}
    for name, url in lines:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if name == "STAFF_TOKEN":
            assert _client(staff_token).get(path).status_code == 200, path
            refused = _client(member_token).get(path)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "permission_denied"
        else:
            assert _client(member_token).get(path).status_code == 200, path


def _client_token(user) -> str:  # type: ignore[no-untyped-def]
    from rest_framework.authtoken.models import Token

    return str(Token.objects.get_or_create(user=user)[0].key)
