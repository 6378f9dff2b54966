"""report.html in headless Chromium (Debian's ``chromium``, installed by .ci/run): every chart shows.

A small page script, added to a copy of the report, waits for the page to load and then checks each
<img>: it decoded (``naturalWidth`` > 0) and is not blank (drawn on a canvas, its pixels vary). The
result is read back from ``--dump-dom``; a screenshot of the page is taken too and must not be blank.
Without Chromium the tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.render.report import write_all
from tests.dbs import in_ci

CHECK = """<script>
window.addEventListener('load', () => {
  const out = [];
  for (const img of document.images) {
    let spread = 0;
    if (img.naturalWidth > 0) {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0, s = 0, s2 = 0;
      for (let i = 0; i < d.length; i += 4 * 7) { const y = (d[i] + d[i+1] + d[i+2]) / 3; n++; s += y; s2 += y * y; }
      spread = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
    }
    out.push({alt: img.alt, width: img.naturalWidth, height: img.naturalHeight, spread: spread});
  }
  const pre = document.createElement('pre'); pre.id = 'jxc-check'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
        if in_ci():
            pytest.fail(f"CI requires it: {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--hide-scrollbars", "--virtual-time-budget=15000", *args],
                          capture_output=True, text=True, timeout=120)


def images_in_browser(page: Path) -> list[dict]:
    checked = page.with_name("check-" + page.name)
    checked.write_text(page.read_text().replace("</body>", CHECK + "</body>"))
    done = run_chromium("--dump-dom", checked.as_uri())
    m = re.search(r"<pre id=\"jxc-check\">(.*?)</pre>", done.stdout, re.DOTALL)
    assert m, f"the check script did not run: {done.stderr[-2000:]}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def problems(images: list[dict]) -> list[str]:
    return [f"{i['alt']}: " + ("missing (did not decode)" if i["width"] == 0 else f"blank (pixel spread {i['spread']:.1f})")
            for i in images if i["width"] == 0 or i["spread"] < 5]


@pytest.fixture(scope="module")
def report(synthetic, tmp_path_factory):
    root, doc = synthetic
    out = tmp_path_factory.mktemp("browser")
    shutil.copytree(root, out, dirs_exist_ok=True)
    return write_all(out, doc, lang="zh")


def test_every_chart_shows_in_chromium(report):
    images = images_in_browser(report.html)
    assert len(images) == len(report.charts) >= 6
    assert problems(images) == []
    for i in images:
        assert i["width"] >= 400 and i["height"] >= 300


def test_screenshot_of_the_report_is_not_blank(report, tmp_path):
    shot = tmp_path / "report.png"
    done = run_chromium(f"--screenshot={shot}", "--window-size=1280,3000", report.html.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3].mean(axis=2)
    assert pixels.shape[0] == 3000
    # split the page into bands: most of the first screenfuls hold text or charts, not white
    bands = [pixels[y:y + 300] for y in range(0, 3000, 300)]
    assert sum(b.std() > 0.05 for b in bands) >= 7


def test_the_check_catches_a_missing_or_blank_chart(report, tmp_path):
    """The same check fails on a page whose charts are broken: one corrupt, one all white."""
    page = report.html.read_text()
    sources = re.findall(r"src='(data:image/png;base64,[^']+)'", page)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6, 4))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    white = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    broken = page.replace(sources[0], "data:image/png;base64,AAAA").replace(sources[1], white)
    bad = tmp_path / "broken.html"
    bad.write_text(broken)
    found = problems(images_in_browser(bad))
    assert len(found) == 2 and "missing" in found[0] and "blank" in found[1]
