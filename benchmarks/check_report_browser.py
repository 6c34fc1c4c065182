"""Open a bayes-mmm report in headless Chromium and check that it renders.

Usage::

    python benchmarks/check_report_browser.py REPORT.html [--chromium PATH] [--min-figures N]

Checks, from the DOM Chromium builds after loading the file:

* every ``img[data-figure]`` has a non-empty ``data:image/png;base64`` source
  that decodes to a PNG, and there are at least ``--min-figures`` of them;
* no element loads anything over the network (``src``/``href`` with http(s));
* no JavaScript errors or failed loads appear in Chromium's log.

It also saves ``<report>.png`` (a 1400×2400 screenshot) next to the report.
Exits 1 on any failure, 2 if Chromium is missing (Debian: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Chromium log lines that mean the page itself is broken (not Chromium's own noise).
PAGE_ERROR = re.compile(r"Uncaught|CONSOLE\(\d+\).*[Ee]rror|net::ERR_(?!ABORTED)|Failed to load resource", re.MULTILINE)


class _Images(HTMLParser):
    """Collects ``img`` attributes and any http(s) ``src``/``href``."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, str]] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img" and "data-figure" in a:
            self.figures.append(a)
        for key in ("src", "href"):
            if a.get(key, "").lower().startswith(("http://", "https://", "//")):
                self.external.append(f"<{tag} {key}={a[key][:80]}>")


def find_chromium(explicit: str | None) -> str | None:
    """Path of a Chromium binary, or None."""
    for cand in [explicit, "/usr/bin/chromium", *(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))]:
        if cand and Path(cand).is_file():
            return cand
    return None


def run_chromium(binary: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once with a throw-away profile."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=timeout)


def check_dom(dom: str, min_figures: int) -> list[str]:
    """Problems found in the DOM Chromium dumped (empty list if none)."""
    parser = _Images()
    parser.feed(dom)
    problems = [f"external reference: {e}" for e in parser.external]
    if len(parser.figures) < min_figures:
        problems.append(f"only {len(parser.figures)} img[data-figure] (expected ≥ {min_figures})")
    for i, img in enumerate(parser.figures):
        src, kind = img.get("src", ""), img.get("data-figure", "")
        if not kind:
            problems.append(f"figure {i}: empty data-figure")
        if not img.get("alt"):
            problems.append(f"figure {i} ({kind}): no alt text")
        if not src.startswith("data:image/png;base64,") or len(src) < 200:
            problems.append(f"figure {i} ({kind}): src is not a non-empty PNG data URI")
            continue
        try:
            head = base64.b64decode(src.split(",", 1)[1][:64] + "==", validate=False)
        except ValueError:
            head = b""
        if not head.startswith(PNG_MAGIC):
            problems.append(f"figure {i} ({kind}): data URI does not decode to a PNG")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check one report; return the process exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("--chromium", default=None, help="Chromium binary (default: /usr/bin/chromium or on PATH)")
    ap.add_argument("--min-figures", type=int, default=1)
    ap.add_argument("--screenshot", type=Path, default=None, help="PNG to write (default: next to the report)")
    args = ap.parse_args(argv)

    report = args.report.resolve()
    if not report.is_file():
        print(f"no such report: {report}", file=sys.stderr)
        return 1
    binary = find_chromium(args.chromium)
    if binary is None:
        print("Chromium not found. On Debian/Ubuntu: apt-get update && apt-get install -y chromium", file=sys.stderr)
        return 2
    url = report.as_uri()

    dom_run = run_chromium(binary, ["--dump-dom", url])
    problems = [] if dom_run.returncode == 0 else [f"chromium --dump-dom exited {dom_run.returncode}"]
    problems += check_dom(dom_run.stdout, args.min_figures)
    problems += [f"page error: {m.group(0)} … {line.strip()[:160]}" for line in dom_run.stderr.splitlines() if (m := PAGE_ERROR.search(line))]

    shot = (args.screenshot or report.with_suffix(".png")).resolve()
    shot_run = run_chromium(binary, [f"--screenshot={shot}", "--window-size=1400,2400", "--hide-scrollbars", url])
    if shot_run.returncode != 0 or not shot.is_file() or shot.stat().st_size == 0:
        problems.append(f"screenshot failed (exit {shot_run.returncode})")

    parser = _Images()
    parser.feed(dom_run.stdout)
    kinds: dict[str, int] = {}
    for img in parser.figures:
        kinds[img.get("data-figure", "")] = kinds.get(img.get("data-figure", ""), 0) + 1
    print(f"{report}: {len(parser.figures)} figures " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    print(f"screenshot: {shot}")
    if problems:
        print(f"FAILED ({len(problems)} problems):", file=sys.stderr)
        for p in problems[:50]:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
