"""The README is a test: its shell blocks, copied verbatim into an empty folder, walk the sample
reception from ``jiedai init`` to a verified audit chain with the installed ``jiedai``, and its
Python example prints what its comment says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent

INSTALL = "python -m pip install"
"""Lines starting with this are skipped: they install the package (minutes, network) into the
environment running this test, which already has it installed; the developer line would also run
pytest inside pytest."""


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def shell_script() -> str:
    """Every ``bash`` block, install lines left out, under ``set -euo pipefail`` so each step counts."""
    lines = [line for block in blocks("bash") for line in block.splitlines()]
    return "\n".join(["set -euo pipefail", *(line for line in lines if not line.startswith(INSTALL))])


def fresh_env(tmp_path: Path) -> dict[str, str]:
    """A new user's shell: the installed ``jiedai`` first on PATH, a fresh SQLite file, no
    ``JIEDAI_*`` settings (standards, actors, calendar …) and no installed plugins auto-loaded, so
    example plugins installed next to this package do not change the outcome."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIEDAI_")}
    (tmp_path / "tmp").mkdir()
    return env | {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "JIEDAI_DB": f"sqlite:///{tmp_path / 'jiedai.db'}",
        "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1",
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONIOENCODING": "utf-8",
    }


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False
    )


def test_the_install_lines_are_the_only_lines_left_out() -> None:
    skipped = [line for b in blocks("bash") for line in b.splitlines() if line.startswith(INSTALL)]
    assert len(skipped) == 2, skipped
    assert "jiedai demo" in shell_script()
    assert "jiedai init" in shell_script()


def test_the_readme_shell_blocks_run_verbatim_from_init_to_a_verified_audit_chain(tmp_path: Path) -> None:
    """Each step exits 0; the 接待清单 is exported with its meal as a meal and the chain is intact."""
    assert (BIN / "jiedai").exists(), f"console script not installed next to {sys.executable}"
    work = tmp_path / "work"
    work.mkdir()
    done = run(["bash", "-c", shell_script()], work, fresh_env(tmp_path))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    exported = work / "接待清单.html"
    assert exported.exists()
    html = exported.read_text(encoding="utf-8")
    assert "接待清单" in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "用餐费用 实际费用合计" in text  # Chinese only: the printed form's default
    assert "0.00 275.00 275.00" in text  # the sample meal is a meal (用餐费用 275.00), not an activity
    assert "审计链完整" in done.stdout.splitlines()[-1]
    assert list((tmp_path / "tmp").iterdir()) == []  # jiedai demo cleaned up after itself


def test_the_readme_python_example_prints_what_its_comment_says(tmp_path: Path) -> None:
    (code,) = [b for b in blocks("python") if "open_engine" in b]
    expected = re.findall(r"print\(.*\)\s+# (\w+)", code)
    done = run([sys.executable, "-c", code], tmp_path, fresh_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected == ["approved"]
