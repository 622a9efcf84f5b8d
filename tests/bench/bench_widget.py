"""Widget benchmarks (``make bench``): prints figures, asserts nothing.

1. Size of what a resident's browser downloads for the widget: ``madoguchi.js`` and the default
   avatar, raw and gzipped (target: ≤ 40 KB gzipped).
2. The public web server (real process, fresh SQLite store): latency of the widget script and of
   ``/widget/settings.json`` (which reads the console's row from the database), 300 requests each.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "widget"))

from widget_helpers import start_web_server  # noqa: E402

from qa_data.db import upgrade  # noqa: E402

STATIC = REPO_ROOT / "widget" / "static"


def sizes() -> None:
    total_raw = total_gz = 0
    for name in ("madoguchi.js", "avatar.svg"):
        data = (STATIC / name).read_bytes()
        packed = len(gzip.compress(data, 9))
        total_raw += len(data)
        total_gz += packed
        print(f"{name:14s} {len(data):7d} bytes raw  {packed:6d} bytes gzipped")
    print(f"{'widget total':14s} {total_raw:7d} bytes raw  {total_gz:6d} bytes gzipped "
          f"({total_gz / 1024:.1f} KB of the 40 KB budget)")  # fmt: skip


def latency() -> None:
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'bench.db'}"
        upgrade(url)
        server = start_web_server(url, Path(work))
        try:
            with httpx.Client() as client:
                for path in ("/widget/madoguchi.js", "/widget/settings.json"):
                    client.get(server.url + path)
                    times = []
                    for _ in range(300):
                        started = time.perf_counter()
                        client.get(server.url + path).raise_for_status()
                        times.append((time.perf_counter() - started) * 1000)
                    times.sort()
                    print(
                        f"GET {path:24s} median {statistics.median(times):5.1f} ms  "
                        f"p95 {times[int(len(times) * 0.95)]:5.1f} ms"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    sizes()
    latency()
