"""Benchmark: import of a generated 10,000-row .xlsx (target ≤ 10 s), export of 10,000 rows
(target ≤ 5 s), and the peak memory of both. Each step runs in a fresh child process so that
its peak RSS is its own. Runs on SQLite, and also on PostgreSQL when
``MADOGUCHI_TEST_POSTGRES_URL`` is set.

    .venv/bin/python tests/bench/bench_import_export.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

IMPORT_TARGET_S = 10.0
EXPORT_TARGET_S = 5.0
DEPARTMENTS = ["市民課", "税務課", "保険年金課", "子育て支援課", "環境課", "福祉課", "防災課"]
CATEGORIES = ["住民票・戸籍", "税", "国保・年金", "子育て・保育", "ごみ・リサイクル", "福祉・介護"]


def generate(path: Path, rows: int) -> None:
    from qa_data.qa_table import COLUMNS, HEADER
    from qa_data.spreadsheet import write_table

    answer = (
        "手続きは**{dept}（本庁舎1階）**の窓口で受け付けています。\n\n"
        "- 必要なもの：本人確認書類（マイナンバーカード、運転免許証など）\n"
        "- 手数料：1通300円\n- 受付時間：平日 8時30分～17時15分\n\n"
        "詳しくは[案内ページ](https://www.city.midori.example.jp/{n}.html)をご覧ください。" * 3
    )
    table = []
    for n in range(1, rows + 1):
        dept = DEPARTMENTS[n % len(DEPARTMENTS)]
        table.append(
            [
                f"BENCH-{n:05d}",
                dept,
                f"{CATEGORIES[n % len(CATEGORIES)]}/小分類{n % 7}",
                f"質問その{n}：髙﨑さんの手続き{n}はどこでできますか？",
                f"手続き{n}の場所\n手続き{n}をしたい\n手続き{n} 窓口",
                answer.format(dept=dept, n=n),
                f"https://www.city.midori.example.jp/{n}.html",
                f"手続き{n}\n窓口\n{dept}",
                "公開" if n % 10 else "非公開",
            ]
        )
    write_table(
        path,
        HEADER,
        table,
        format="xlsx",
        sheet_title="QA",
        column_widths=[c.width for c in COLUMNS],
        wrap_columns=[i for i, c in enumerate(COLUMNS) if c.wrap],
    )


def child(step: str, path: str, url: str) -> None:
    """One measured step, in its own process; prints JSON."""
    from qa_data.exporter import export_qa
    from qa_data.importer import import_qa

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_started = time.process_time()
    started = time.perf_counter()
    if step == "import":
        report = import_qa(path, url=url, actor="bench")
        assert report.ok and report.written, report.errors[:5]
        count = len(report.new) + len(report.changed)
    else:
        report = export_qa(path, url=url, actor="bench")
        assert report.ok, report.errors[:5]
        count = report.count
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "count": count, "peak_kb": peak, "base_kb": baseline}
        )
    )


def measure(step: str, path: Path, url: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", step, str(path), url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def postgres_database() -> tuple[str, str] | None:
    base = os.environ.get("MADOGUCHI_TEST_POSTGRES_URL")
    if not base:
        return None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"madoguchi_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False), name


def drop_postgres(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(os.environ["MADOGUCHI_TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def line(label: str, figures: dict, target: float) -> str:
    verdict = "OK" if figures["seconds"] <= target else "SLOWER THAN TARGET"
    peak = figures["peak_kb"] / 1024
    delta = (figures["peak_kb"] - figures["base_kb"]) / 1024
    return (
        f"  {label:<28} {figures['seconds']:6.2f} s wall, {figures['cpu']:5.2f} s CPU "
        f"(target ≤ {target:.0f} s, {verdict}); "
        f"peak RSS {peak:4.0f} MB (+{delta:.0f} MB over the process after imports)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--child", nargs=3, metavar=("STEP", "PATH", "URL"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from qa_data import db

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "bench.xlsx"
        started = time.perf_counter()
        generate(source, args.rows)
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"Machine: {os.cpu_count()} CPUs, load average {load} (timings scale with load)")
        print(
            f"Generated {args.rows:,}-row xlsx ({source.stat().st_size / 1024 / 1024:.1f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        stores = [("SQLite", f"sqlite:///{work / 'bench.db'}", None)]
        postgres = postgres_database()
        if postgres:
            stores.append(("PostgreSQL", postgres[0], postgres[1]))
        try:
            for label, url, _ in stores:
                db.upgrade(url)
                db.get_engine(url).dispose()
                imported = measure("import", source, url)
                exported = measure("export", work / f"export-{label}.xlsx", url)
                exported_csv = measure("export", work / f"export-{label}.csv", url)
                print(f"{label}:")
                print(line(f"import {imported['count']:,} rows (xlsx)", imported, IMPORT_TARGET_S))
                print(line(f"export {exported['count']:,} rows (xlsx)", exported, EXPORT_TARGET_S))
                print(
                    line(
                        f"export {exported_csv['count']:,} rows (csv)",
                        exported_csv,
                        EXPORT_TARGET_S,
                    )
                )
        finally:
            if postgres:
                drop_postgres(postgres[1])


if __name__ == "__main__":
    main()
