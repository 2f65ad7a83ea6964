"""Headless Chromium (Debian's package, installed by .ci/run) for the tests that open a report
as a reader would: the DOM after scripts ran, and a screenshot."""
import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL = "apt-get update && apt-get install -y chromium"
MISSING = f"chromium is not installed ({INSTALL})"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000"]


def open_page(page: Path, workdir: Path, screenshot_name: str, height: int = 3000) -> tuple[str, Path]:
    """(the DOM once the page's scripts ran, a screenshot of it), each in its own browser profile.
    The screenshot goes to $PWM_TEST_ARTIFACTS when set, so that CI keeps it."""
    artefacts = Path(os.environ.get("PWM_TEST_ARTIFACTS", workdir))
    artefacts.mkdir(parents=True, exist_ok=True)
    screenshot = artefacts / screenshot_name

    def chromium(*args, profile: str) -> subprocess.CompletedProcess:
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={workdir / profile}", *args, page.as_uri()],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    dom = chromium("--dump-dom", profile="dom").stdout
    chromium(f"--screenshot={screenshot}", f"--window-size=1400,{height}", profile="shot")
    return dom, screenshot
