"""report.html in a real headless browser (Debian's chromium): the page renders, and is not blank."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from routeeval.report.write import write_reports
from routeeval.summary import RunSummary

pytestmark = pytest.mark.slow  # a browser in a subprocess
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install it with `apt-get install -y chromium` (Debian) to run the browser test"


def find_chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


def screenshot(browser: str, page: Path, png: Path, profile: Path, size: str = "1280,2000") -> None:
    """Render ``page`` with no network, no first-run, no background services, and write a PNG of the viewport."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={size}",
        page.resolve().as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def browser():
    path = find_chromium()
    if path is None:
        pytest.skip(
            f"no chromium found (looked for /usr/bin/chromium and {', '.join(CANDIDATES)} on PATH); {INSTALL_HINT}"
        )
    return path


def test_report_renders_in_headless_chromium(browser, demo_report, tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    summary, frame, chosen_rows, _ = demo_report
    paths = write_reports(tmp_path / "run", RunSummary.from_json(summary), frame, chosen_rows)
    png = tmp_path / "report.png"
    screenshot(browser, paths["html"], png, tmp_path / "profile")

    image = mpimg.imread(png)[:, :, :3]
    assert image.shape[:2] == (2000, 1280)
    non_white = (image < 0.94).any(axis=2)
    assert non_white.mean() > 0.03, f"only {non_white.mean():.1%} of the page is not white"
    colours = {tuple(c) for c in (image[::4, ::4] * 31).round().astype(np.uint8).reshape(-1, 3)}
    assert len(colours) > 40, f"{len(colours)} distinct colours: is the plot missing?"
    # The SIMULATED banner (amber) and the plot's cascade points (red) are both on the first screen.
    red, green, blue = image[:, :, 0], image[:, :, 1], image[:, :, 2]
    assert ((red > 0.95) & (green > 0.9) & (blue < 0.85)).sum() > 2000, "the amber SIMULATED banner"
    assert ((red > 0.7) & (green < 0.3) & (blue < 0.3)).sum() > 100, "red frontier points in the plot"
