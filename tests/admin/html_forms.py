"""Submit the admin's forms as a browser would: read them from the rendered page (fields,
their current values and the CSRF token), change what the test cares about, post."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

from django.test import Client


@dataclass
class HtmlForm:
    action: str
    method: str
    id: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""  # the form's visible text, for picking one of several forms

    def data(self, **overrides: Any) -> dict[str, list[str]]:
        """The values a browser would send, with ``overrides`` (a list for many values,
        ``None`` to leave a field out)."""
        out = {name: list(values) for name, values in self.fields.items()}
        for name, value in overrides.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return out


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._select: str | None = None
        self._select_seen: list[str] = []  # options of the current select
        self._multiple = False
        self._option: str | None = None
        self._option_selected = False
        self._in_option = False
        self._textarea: str | None = None
        self._buffer = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = HtmlForm(
                a.get("action", ""), a.get("method", "get").lower(), a.get("id", "")
            )
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.setdefault(name, []).append(a.get("value", "on"))
            elif kind not in ("submit", "button", "image", "file", "reset"):
                form.fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select, self._select_seen = name, []
            form.fields.setdefault(name, [])
            self._multiple = "multiple" in a
        elif tag == "option" and self._select:
            self._option, self._in_option = a.get("value"), True
            self._option_selected = "selected" in a
            self._buffer = ""
        elif tag == "textarea" and name:
            self._textarea, self._buffer = name, ""

    def handle_data(self, data: str) -> None:
        if self._form is not None:
            self._form.text += data
        if self._in_option or self._textarea is not None:
            self._buffer += data

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if form is None:
            return
        if tag == "option" and self._in_option and self._select is not None:
            value = self._option if self._option is not None else self._buffer.strip()
            self._select_seen.append(value)
            if self._option_selected:
                form.fields[self._select].append(value)
            self._option, self._in_option = None, False
        elif tag == "select" and self._select is not None:
            if not form.fields[self._select] and self._select_seen and not self._multiple:
                form.fields[self._select].append(self._select_seen[0])  # a browser's default
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            form.fields.setdefault(self._textarea, []).append(self._buffer.removeprefix("\n"))
            self._textarea = None
        elif tag == "form":
            self.forms.append(form)
            self._form = None


def forms_in(html: str) -> list[HtmlForm]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def form_in(
    html: str,
    *,
    posting_to: str | None = None,
    containing: str | None = None,
    form_id: str | None = None,
) -> HtmlForm:
    """The one POST form of the page whose action ends with ``posting_to``, whose fields or text
    include ``containing`` and whose id is ``form_id`` (each when given)."""
    found = [
        f
        for f in forms_in(html)
        if f.method == "post"
        and (posting_to is None or f.action.endswith(posting_to))
        and (form_id is None or f.id == form_id)
        and (containing is None or containing in f.fields or containing in f.text)
    ]
    assert len(found) == 1, f"expected one matching form, found {len(found)}"
    assert found[0].fields.get("csrfmiddlewaretoken", [""])[0], "the form has no CSRF token"
    return found[0]


def submit(
    client: Client,
    page: str | Any,
    *,
    posting_to: str | None = None,
    containing: str | None = None,
    form_id: str | None = None,
    **overrides: Any,
) -> Any:
    """Open ``page`` (a URL, or a response already rendered), pick its form, post it back
    to its action (the page itself when empty) and follow the redirect."""
    if isinstance(page, str):
        response = client.get(page)
        assert response.status_code == 200, response.status_code
        url = page
    else:
        response, url = page, page.wsgi_request.get_full_path()
    form = form_in(
        response.content.decode(), posting_to=posting_to, containing=containing, form_id=form_id
    )
    return client.post(form.action or url, form.data(**overrides), follow=True)


def messages_of(response: Any) -> list[tuple[str, str]]:
    """The admin's messages on a page: (level, text)."""
    html = response.content.decode()
    listing = re.search(r'<ul class="messagelist">(.*?)</ul>', html, re.S)
    if listing is None:
        return []
    return [
        (level, unescape(re.sub(r"<[^>]+>", "", text)).strip())
        for level, text in re.findall(r'<li class="(\w+)">(.*?)</li>', listing.group(1), re.S)
    ]
