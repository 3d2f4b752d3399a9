"""The screenshots of the web pages in docs/images (docs/http.md), taken from a real ``jiedai serve``
in Debian's headless Chromium through Playwright, at the 1366×768 office screen the pages are made for.

Run from the repository root, after a change to the pages::

    PYTHONPATH=src python -m tests._http_screenshots

It starts the service on a fresh SQLite database in a temporary folder with the countersign actors
and standards of :mod:`tests._http_server`, walks a few receptions through the API to have something
to show, then signs in as 李娜 (a countersign approver) and saves her 待办 list, a reception page with
its approval steps and the operations she may use, and the registration form.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests._http_server import reception_body, running

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
SHOTS = ("web-tasks.png", "web-reception.png", "web-register.png")
"""The files this script writes under docs/images."""
SCREEN = {"width": 1366, "height": 768}


def _prepare(server: Any) -> str:
    """Three receptions awaiting the countersign, one of them copied to 李娜; the id of the first."""
    first = ""
    for n in range(3):
        body = reception_body(days_ahead=10 + n)
        with server.client("zhang.wei") as c:
            rid = c.post("/api/v1/receptions", json=body).json()["reception"]["id"]
            c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).raise_for_status()
        with server.client("sun.hao") as c:
            c.post(f"/api/v1/receptions/{rid}/triggers/approve", json={"reason": "同意"}).raise_for_status()
        first = first or rid
    with server.client("qian.bo") as c:
        c.post(f"/api/v1/receptions/{first}/triggers/approve", json={"reason": "经费在预算内，同意"})
    with server.client("zheng.li") as c:
        url = f"/api/v1/receptions/{first}/operations/transfer"
        c.post(url, json={"to": "wu.gang", "reason": "出差，请吴刚办理"}).raise_for_status()
    return first


def main() -> int:
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium")
    if browser_path is None:
        print("chromium not found (apt-get install chromium fonts-noto-cjk)", file=sys.stderr)
        return 1
    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jiedai-shots-") as tmp:
        folder = Path(tmp)
        with running(f"sqlite:///{folder / 'jiedai.db'}", folder, countersign=True) as server:
            rid = _prepare(server)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=browser_path, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport=SCREEN, locale="zh-CN")
                page.goto(f"{server.base}/web/login")
                page.fill("input[name=token]", server.token("li.na"))
                page.click("button[type=submit]")
                page.wait_for_url(f"{server.base}/web/")
                page.screenshot(path=str(IMAGES / SHOTS[0]))
                page.goto(f"{server.base}/web/receptions/{rid}")
                page.screenshot(path=str(IMAGES / SHOTS[1]), full_page=True)
                page.goto(f"{server.base}/web/new")
                page.screenshot(path=str(IMAGES / SHOTS[2]))
                browser.close()
    for name in SHOTS:
        print(IMAGES / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
