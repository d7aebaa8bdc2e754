"""Registry import at district scale: 50,000 rooms, 100,000 people, 20,000 legal entities.

Builds a demo district with its gazetteer in a temporary folder (SQLite, or PostgreSQL with
``--database-url``), generates the synthetic registry (``civicloop registry generate``), imports
rooms, people and entities in that order (each all-or-nothing, one transaction), then checks a
copy of the people file seeded with bad rows: it must report every one and import nothing.

Baseline measured in the same run: reading and parsing the files alone (CSV rows/s), so the
ratio says how much the checks and the writes cost beyond reading.

Target (issue 5): the whole import in ≤ 2 minutes. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

from civicloop.core.settings import Settings
from civicloop.runtime import Platform


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--entities", type=int, default=20_000)
    ap.add_argument("--rooms", type=int, default=50_000)
    ap.add_argument("--grids", type=int, default=1000)
    ap.add_argument("--bad-rows", type=int, default=25)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()

    from civicloop.demo.generator import DEMO_PASSWORD, generate_district
    from civicloop.intake.gazetteer import seed_gazetteer
    from civicloop.org import service as org
    from civicloop.registry.generate import write_dataset
    from civicloop.registry.importer import import_file, read_rows
    from civicloop.registry.service import count_records

    folder = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    p = Platform.open(Settings(data_dir=folder / "data", database_url=args.database_url))
    bureaus = [(d.code, d.name, d.name_en, d.kind) for d in p.catalogue.departments.values()]
    t = time.perf_counter()
    plan = generate_district(
        seed=7, grids=args.grids, communities=max(10, args.grids // 4), bureau_departments=bureaus
    )
    org.seed_district(p, plan, password=DEMO_PASSWORD)
    seed_gazetteer(p, seed=7)
    print(f"district and gazetteer: {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    counts = write_dataset(
        p, folder / "clean", people=args.people, entities=args.entities, rooms=args.rooms
    )
    gen_ms = (time.perf_counter() - t) * 1000
    print(f"generated {counts} in {gen_ms / 1000:.1f} s")

    # baseline: only reading the CSV files
    t = time.perf_counter()
    n_read = 0
    for name in ("rooms", "people", "entities"):
        _, rows = read_rows(folder / "clean" / f"{name}.csv")
        n_read += sum(1 for _ in rows)
    read_ms = (time.perf_counter() - t) * 1000

    timings: dict[str, float] = {}
    total_rows = 0
    t_all = time.perf_counter()
    for name in ("rooms", "people", "entities"):
        t = time.perf_counter()
        report = import_file(p, name, folder / "clean" / f"{name}.csv")
        ms = (time.perf_counter() - t) * 1000
        timings[name] = ms
        total_rows += report.rows
        print(
            f"{name:9s} {report.rows:7d} rows  {ms / 1000:6.1f} s  "
            f"(check {report.timings_ms['check'] / 1000:.1f} s, write "
            f"{report.timings_ms['write'] / 1000:.1f} s)  {report.rows / (ms / 1000):,.0f} rows/s"
        )
    total_ms = (time.perf_counter() - t_all) * 1000
    print(f"import total: {total_ms / 1000:.1f} s for {total_rows} rows; stored {count_records(p)}")

    # the bad file: the first 10,000 people again with faults seeded (bad checksums, bad dates,
    # unknown addresses, duplicates, missing names); every one reported, nothing written
    import random

    from civicloop.registry.generate import _seed_bad_rows

    header, rows = read_rows(folder / "clean" / "people.csv")
    bad_rows = [list(r) for _, r in zip(range(10_000), rows, strict=False)]
    files = {"people": (header, bad_rows)}
    _seed_bad_rows(files, args.bad_rows, random.Random(8))
    (folder / "bad").mkdir()
    with (folder / "bad" / "people.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(bad_rows)
    before = count_records(p)["person"]
    t = time.perf_counter()
    report = import_file(p, "people", folder / "bad" / "people.csv", dry_run=True)
    from civicloop.core.errors import InputError

    try:
        import_file(p, "people", folder / "bad" / "people.csv")
        refused = False
    except InputError:
        refused = True
    bad_ms = (time.perf_counter() - t) * 1000
    rules: dict[str, int] = {}
    for pr in report.problems:
        rules[pr.rule] = rules.get(pr.rule, 0) + 1
    print(f"bad people file: {len(report.problems)} problems in {report.rows} rows: {rules}")
    for pr in report.problems[:8]:
        print("  ", pr.line())
    after = count_records(p)["person"]
    with (folder / "bad" / "people.csv").open(encoding="utf-8") as fh:
        n_bad = sum(1 for _ in csv.reader(fh)) - 1
    p.close()
    print(
        json.dumps(
            {
                "people_per_s": round(args.people / (timings["people"] / 1000), 1),
                "entities_per_s": round(args.entities / (timings["entities"] / 1000), 1),
                "rooms_per_s": round(args.rooms / (timings["rooms"] / 1000), 1),
                "rows_per_s": round(total_rows / (total_ms / 1000), 1),
                "import_total_ms": round(total_ms, 1),
                "read_only_ms": round(read_ms, 1),
                "import_vs_read_ratio": round(total_ms / read_ms, 2),
                "generate_ms": round(gen_ms, 1),
                "bad_file_rows": n_bad,
                "bad_file_problems": len(report.problems),
                "bad_file_check_ms": round(bad_ms, 1),
                "bad_file_imported": after - before,
                "bad_file_refused": refused,
                "target_ms": 120_000,
            }
        )
    )


if __name__ == "__main__":
    main()
