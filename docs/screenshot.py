"""A PNG screenshot of the HTML leaderboard (docs/leaderboard.png in the README), taken by headless chromium.

Renders the page of a result store exactly as `xaibench leaderboard --format html` does, then shoots
the top of it. Needs chromium (Debian: apt-get install chromium).
Run: xaibench run standard --results results && python docs/screenshot.py --results results --task fashion_mnist
     --suite standard
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from xaibench.cli import load_results
from xaibench.leaderboard.html import render_html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="result store directory (default: results)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "leaderboard.png"))
    parser.add_argument("--window-size", default="1280,1000", help="width,height in pixels")
    parser.add_argument("--task", default=None, help="only this task (its name, any parameters)")
    parser.add_argument("--suite", default=None, help="only this suite's current records (a store may hold others)")
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        raise SystemExit("chromium not found: apt-get install chromium")

    page = render_html(*load_results(args), args.results)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leaderboard.html"
        path.write_text(page)
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--hide-scrollbars", f"--user-data-dir={Path(tmp) / 'profile'}",
                        f"--screenshot={Path(args.out).resolve()}", f"--window-size={args.window_size}",
                        path.as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
