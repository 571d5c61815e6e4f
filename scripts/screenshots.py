#!/usr/bin/env python3
"""Retake the README's dev panel screenshots (``docs/screenshots/*.png``) from the demo.

    python3 scripts/screenshots.py [--out docs/screenshots] [--port 8765]

Runs what ``scripts/dev.py run`` runs, on the embedded default in a throwaway
``GENPIPE_VAR_DIR`` (SQLite, database cache, filesystem broker: the service URLs of the
environment are ignored, so nothing you run is touched): migrate, ``load_demo``, a Celery
worker and the dev server. Once the worker has finished the demo's generations it logs in
as the demo user in headless Chromium (Playwright's driver with the system's browser,
``/usr/bin/chromium`` or ``GENPIPE_CHROMIUM``; nothing is downloaded) and captures every
page named in ``PAGES``, full height at 1280 px wide, with the
admin's navigation sidebar folded. Then it stops
both processes and deletes the directory. Needs the virtualenv of ``dev.py`` (it makes it)
and Chromium; no network.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dev  # the developer commands' helpers: venv, processes, ports

ROOT = dev.ROOT
VALIDATE_EXAMPLE = """{
  "generation_type": "transition",
  "purpose": "gap_fill",
  "strategy": "per_playthrough",
  "duration": {"min": 9, "max": 2},
  "image_urls": ["https://assets.example/harbour.png"],
  "prompt": "walk into the rain"
}"""
# name: (path, what to wait for); the generation pages are found in the list first.
PAGES: dict[str, tuple[str, str]] = {
    "index": ("/admin/", "#gp-pipeline-entry"),
    "panel": ("/admin/panel/", "#gp-panel-counts"),
    "generations": ("/admin/generations/generation/", "#gp-status-counts"),
    "generation": ("", "#generation_form"),
    "providers": ("/admin/panel/providers/", "#gp-providers"),
    "cache": ("/admin/panel/cache/", "#gp-entries"),
    "validation": ("/admin/panel/validation/", "#gp-report"),
}


def chromium() -> str:
    found = os.environ.get("GENPIPE_CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser")
    if not found:
        dev.die("Chromium is not installed (apt-get install chromium, or set GENPIPE_CHROMIUM)")
    return found


def in_venv(python: Path) -> None:
    """Run this script again with the virtualenv's Python (it has Playwright)."""
    if Path(sys.prefix).resolve() != dev.venv_dir().resolve():
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def wait_for_demo(page: Any, base: str, timeout: float = 300) -> None:
    """Until the worker has taken every demo generation to a terminal status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(base + "/admin/panel/?refresh=0")
        busy = page.evaluate(
            """() => ['pending', 'processing'].reduce((n, s) => {
                 const cell = document.querySelector(`#gp-panel-counts [data-status="${s}"]`);
                 return n + (cell ? Number(cell.textContent) : 0);
               }, 0)"""
        )
        if busy == 0 and page.locator("#gp-panel-counts [data-status]").count():
            return
        dev.say(f"waiting for the worker: {busy} demo generation(s) still running")
        time.sleep(3)
    dev.die("the demo's generations did not finish in time")


def capture(base: str, out: Path, login: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # The admin's navigation sidebar folded, as the admin remembers it per browser.
        page.add_init_script(
            "try { localStorage.setItem('django.admin.navSidebarIsOpen', 'false') } catch (e) {}"
        )
        page.goto(base + "/admin/login/")
        page.fill("#id_username", login[0])
        page.fill("#id_password", login[1])
        page.click("input[type=submit]")
        page.wait_for_url(base + "/admin/")
        wait_for_demo(page, base)
        # A completed NPC line (its prompt comes from a prompt version) for the detail
        # page; the list highlights one of the rows.
        ids: list[str] = []
        for query in ("&operation_type__exact=npc_response", ""):
            page.goto(base + "/admin/generations/generation/?status__exact=completed" + query)
            ids = page.locator("#result_list input.action-select").evaluate_all(
                "boxes => boxes.map(b => b.value)"
            )
            if ids:
                break
        if not ids:
            dev.die("the demo has no completed generation")
        changelist = "/admin/generations/generation/"
        PAGES["generation"] = (f"{changelist}{ids[0]}/change/", "#generation_form")
        highlight = ids[min(2, len(ids) - 1)]
        PAGES["generations"] = (f"{changelist}?highlight={highlight}", "tr.gp-highlight")
        out.mkdir(parents=True, exist_ok=True)
        for name, (path, ready) in PAGES.items():
            page.goto(base + path)
            if name == "validation":
                page.select_option("select[name=workspace]", label="demo")
                page.fill("textarea[name=body]", VALIDATE_EXAMPLE)
                page.click("#content-main form input[type=submit]")
                page.wait_for_load_state()
            page.wait_for_selector(ready)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            dev.say(f"captured {dev.show(out / f'{name}.png')}")
        browser.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/screenshots", help="where the PNGs go")
    parser.add_argument("--port", type=int, default=8765, help="the dev server's port")
    args = parser.parse_args(argv)
    python = dev.bootstrap()
    in_venv(python)
    if not dev.port_free(args.port):
        dev.die(f"port {args.port} on 127.0.0.1 is in use; pick another with --port")
    out = Path(args.out) if Path(args.out).is_absolute() else ROOT / args.out
    with tempfile.TemporaryDirectory(prefix="genpipe-screenshots-") as var:
        env = dict(dev.embedded_env(), GENPIPE_VAR_DIR=var, PYTHONUNBUFFERED="1")
        dev.manage(python, env, "migrate", "--no-input", "-v0")
        _token, login = dev.load_demo(python, env)
        worker = [str(python), "-m", "celery", "-A", "genpipe_site", "worker", "--pool=threads"]
        worker += ["--concurrency=4", "--loglevel=WARNING", "-n", "genpipe-screenshots@%h"]
        server = [str(python), "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload"]
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            procs["celery worker"] = dev.spawn(worker, env)
            procs["dev server"] = dev.spawn(server, env)
            deadline = time.monotonic() + 60
            while not dev.tcp_open("127.0.0.1", args.port, timeout=0.2):
                if time.monotonic() > deadline or procs["dev server"].poll() is not None:
                    dev.die("the dev server did not start")
                time.sleep(0.3)
            capture(f"http://127.0.0.1:{args.port}", out, login)
        finally:
            dev.stop_all(procs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
