"""Retrieval benchmarks (``make bench``): prints search latency p50/p95, index build time and
memory for 2,000 and 50,000 entries (lexical), and the edit → visible delay.

Entries are built from the demo city's FAQ and Tsu City's garbage-sorting table
(``../shared/datasets/tsu-garbage``) plus generated text. Queries are the development set.
"""

from __future__ import annotations

import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from qa_data import db  # noqa: E402
from qa_data.models import Department, QAEntry  # noqa: E402

TSU_CSV = REPO_ROOT.parent / "shared" / "datasets" / "tsu-garbage" / "tsu_gomi_bunbetsu.csv"
DEV_SET = REPO_ROOT / "tests" / "eval" / "dev_queries.csv"
DEMO_QA = REPO_ROOT / "qa_data" / "demo" / "demo_city_qa.xlsx"

QUESTION_TEMPLATES = [
    "{item}はどうやって捨てればよいですか？",
    "{item}の出し方を教えてください",
    "{item}は何ごみですか",
    "{item}を処分したいのですが、どうすればいいですか",
]
FILLER = [
    "詳しくは環境課までお問い合わせください",
    "収集日は地区ごとに異なります",
    "ごみカレンダーで確認してください",
    "指定袋に入れて朝8時までに出してください",
    "大きな物は粗大ごみ受付センターへ事前に申し込みが必要です",
]


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def garbage_rows() -> list[dict[str, str]]:
    with open(TSU_CSV, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def demo_rows() -> list[tuple[str, str, list[str], str]]:
    import openpyxl

    sheet = openpyxl.load_workbook(DEMO_QA, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))[1:]
    return [
        (str(r[3]), str(r[5]), [a for a in str(r[4] or "").splitlines() if a], str(r[2] or ""))
        for r in rows
        if r[0]
    ]


def generate(n: int, seed: int = 7) -> list[dict]:
    """``n`` entries: the demo FAQ first, then garbage-item questions with generated answers."""
    rnd = random.Random(seed)
    out = []
    for question, answer, alternates, category in demo_rows():
        out.append(dict(question=question, answer=answer, alternates=alternates, category=category))
    items = garbage_rows()
    i = 0
    while len(out) < n:
        item = items[i % len(items)]
        template = QUESTION_TEMPLATES[(i // len(items)) % len(QUESTION_TEMPLATES)]
        extra = "。".join(rnd.sample(FILLER, 2))
        answer = (
            f"{item['品目']}は「{item['分別区分']}」です。{item['出し方のポイント'] or ''}{extra}。"
        )
        out.append(
            dict(
                question=template.format(item=item["品目"]),
                answer=answer,
                alternates=[],
                category="ごみ",
            )
        )
        i += 1
    return out[:n]


def make_store(n: int, directory: Path) -> str:
    url = f"sqlite:///{directory}/bench_{n}.db"
    db.upgrade(url)
    engine = db.get_engine(url)
    with db.session_scope(url) as session:
        dept = Department(name="環境課")
        session.add(dept)
        session.flush()
        dept_id = dept.id
    rows = [
        {
            "external_id": f"B-{i:06d}",
            "department_id": dept_id,
            "category_major": e["category"],
            "question": e["question"],
            "alternate_questions": e["alternates"],
            "answer": e["answer"],
            "links": [],
            "keywords": [],
            "status": "published",
            "version": 1,
        }
        for i, e in enumerate(generate(n))
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(QAEntry), rows[start : start + 5000])
    return url


def queries() -> list[str]:
    with open(DEV_SET, encoding="utf-8-sig", newline="") as handle:
        return [row["query"] for row in csv.DictReader(handle) if row.get("query")]


def bench_size(n: int, directory: Path) -> None:
    from nlu.normalizer import get_normalizer
    from nlu.retrieval import Retriever
    from nlu.retrieval.config import RetrievalConfig

    url = make_store(n, directory)
    get_normalizer().analyze("準備")  # load the dictionary outside the build timing
    before = rss_mb()
    retriever = Retriever(RetrievalConfig(refresh_interval_seconds=3600), url=url)
    started, cpu = time.perf_counter(), time.process_time()
    retriever.refresh()
    build, build_cpu = time.perf_counter() - started, time.process_time() - cpu
    after = rss_mb()
    qs = queries()
    for q in qs[:20]:
        retriever.search(q)
    latencies = []
    for q in qs:
        t = time.perf_counter()
        retriever.search(q)
        latencies.append((time.perf_counter() - t) * 1000)
    p50, p95 = np.percentile(latencies, [50, 95])
    print(
        f"lexical {n:>6,} entries: build {build:6.2f} s (CPU {build_cpu:.2f} s) | "
        f"search p50 {p50:5.1f} ms, p95 {p95:5.1f} ms ({len(qs)} queries) | "
        f"index memory +{after - before:,.0f} MB (RSS {after:,.0f} MB)"
    )
    if n <= 5000:
        bench_edit_visible(url)
    db.get_engine(url).dispose()


def bench_edit_visible(url: str) -> None:
    """Edit an entry through qa_store and time until search shows it (default refresh)."""
    from nlu.retrieval import Retriever
    from nlu.retrieval.config import RetrievalConfig
    from qa_data import qa_store

    retriever = Retriever(RetrievalConfig(), url=url)  # refresh_interval_seconds 0.5
    retriever.search("準備")
    delays = []
    for round_ in range(5):
        word = f"ベンチマーク{round_}号館の駐車場"
        with db.session_scope(url) as session:
            entry = session.scalars(select(QAEntry).where(QAEntry.id == 100 + round_)).one()
            qa_store.save_entry(
                session, entry=entry, fields={"question": f"{word}はどこですか"}, actor="bench"
            )
        started = time.perf_counter()
        while True:
            hits = retriever.search(word).hits
            if hits and hits[0].id == entry.external_id:
                break
            if time.perf_counter() - started > 10:
                break
            time.sleep(0.01)
        delays.append(time.perf_counter() - started)
    print(
        f"edit → visible: max {max(delays):.2f} s, median {float(np.median(delays)):.2f} s "
        f"(5 edits, refresh_interval_seconds 0.5)"
    )


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [2_000, 50_000]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            bench_size(n, Path(tmp))


if __name__ == "__main__":
    main()
