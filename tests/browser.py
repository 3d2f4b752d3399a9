"""Headless Chromium for the print tests: HTML to PDF (pages counted and read with pypdf) and to
PNG (the screenshots in docs/images).

Debian's ``chromium`` package is the browser of the development and CI machines. Where it is
absent the print tests skip with the reason — unless ``JIEDAI_REQUIRE_CHROMIUM=1`` (set by
``.ci/run``), where a missing browser fails the run instead. ``JIEDAI_CHROMIUM`` names another
binary.

``python tests/browser.py`` re-renders the screenshots of docs/images from docs/examples.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pytest

REQUIRED = os.environ.get("JIEDAI_REQUIRE_CHROMIUM") == "1"
NAMES = ("chromium", "chromium-browser", "google-chrome")
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = {"jiedai-qingdan.html": "qingdan.png", "jiedai-shenpidan.html": "shenpidan.png"}
"""docs/examples file → docs/images screenshot."""
HANG_GUARD = 180
"""Seconds before a stuck browser is killed: a guard against a hang, not a timed assertion."""


def chromium() -> str:
    """The browser's path; skips the test (fails it under ``JIEDAI_REQUIRE_CHROMIUM=1``) without one."""
    found = os.environ.get("JIEDAI_CHROMIUM") or next(filter(None, map(shutil.which, NAMES)), None)
    if found:
        return found
    reason = "headless Chromium not installed (apt-get install -y chromium fonts-noto-cjk)"
    if REQUIRED:
        pytest.fail(f"{reason} (JIEDAI_REQUIRE_CHROMIUM=1: the browser is mandatory here)")
    pytest.skip(reason)


def _run(browser: str, html: Path, *args: str) -> None:
    with tempfile.TemporaryDirectory(prefix="jiedai-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",  # why: CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            f"--user-data-dir={profile}",  # why: parallel runs must not share a profile
            *args,
            html.resolve().as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")


def print_to_pdf(browser: str, html: str, directory: Path, name: str = "form") -> Path:
    """Print ``html`` as Chromium does from its print dialog, browser headers and footers off."""
    source = directory / f"{name}.html"
    source.write_text(html, encoding="utf-8")
    pdf = directory / f"{name}.pdf"
    _run(browser, source, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    return pdf


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page, whitespace collapsed and NFKC-normalised: the PDF's fonts map some
    characters to look-alikes (人 to the Kangxi radical ⼈, ffi to a ligature) that NFKC undoes."""
    from pypdf import PdfReader

    return [
        re.sub(r"\s+", " ", unicodedata.normalize("NFKC", page.extract_text() or ""))
        for page in PdfReader(pdf).pages
    ]


PAGE_NUMBER = re.compile(r"第 (\d+) \S 共 (\d+) \S")
"""「第 1 页 共 2 页」as extracted: the font maps 页 to a look-alike radical, so any character."""


def screenshot(browser: str, html: Path, png: Path, width: int = 820, height: int = 1160) -> None:
    """A PNG of ``html`` as a browser shows it on screen."""
    _run(browser, html, "--hide-scrollbars", f"--window-size={width},{height}", f"--screenshot={png}")


def main() -> int:
    browser = os.environ.get("JIEDAI_CHROMIUM") or next(filter(None, map(shutil.which, NAMES)), None)
    if browser is None:
        print("chromium not found", file=sys.stderr)
        return 1
    images = ROOT / "docs" / "images"
    images.mkdir(exist_ok=True)
    for source, target in SCREENSHOTS.items():
        screenshot(browser, ROOT / "docs" / "examples" / source, images / target)
        print(images / target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
