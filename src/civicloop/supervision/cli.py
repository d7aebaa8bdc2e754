"""`civicloop supervision …`: escalate late orders, print the status board, evaluate the reply
scorer on a CSV of messages with replies."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Annotated

import typer

from civicloop.cli_support import DataDir, open_platform, require_database, settings_for

app = typer.Typer(help="Supervision orders and the status board.", no_args_is_help=True)


@app.command("sweep")
def sweep(data_dir: DataDir = None) -> None:
    """Escalate every supervision order whose own deadline has passed (idempotent)."""
    from civicloop.supervision.service import escalate_overdue_orders

    require_database(settings_for(data_dir))
    p = open_platform(data_dir)
    try:
        print(json.dumps({"escalated_orders": escalate_overdue_orders(p)}))
    finally:
        p.close()


@app.command("board")
def board(data_dir: DataDir = None) -> None:
    """Print the cross-department status board (the whole district) as JSON."""
    from civicloop.org.model import SYSTEM_ACTOR
    from civicloop.supervision.service import status_board

    require_database(settings_for(data_dir))
    p = open_platform(data_dir)
    try:
        print(json.dumps(status_board(p, SYSTEM_ACTOR), ensure_ascii=False, indent=2, default=str))
    finally:
        p.close()


@app.command("reply-eval")
def reply_eval(
    path: Annotated[Path, typer.Argument(help="CSV with title, detail and reply columns")],
    seed: int = 0,
) -> None:
    """How well relevance separates true (message, reply) pairs from shuffled ones: AUC and the
    share flagged as 'answers a different question' in each."""
    from civicloop.supervision import reply_quality as rq

    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("reply")]
    if len(rows) < 2:
        raise typer.BadParameter("need at least two rows with a reply", param_hint="path")
    asks = [f"{r.get('title', '')}。{r.get('detail', '')}" for r in rows]
    perm = list(range(len(rows)))
    rng = random.Random(seed)
    while any(i == j for i, j in enumerate(perm)):
        rng.shuffle(perm)
    true = [rq.relevance(a, r["reply"]) for a, r in zip(asks, rows, strict=True)]
    shuffled = [rq.relevance(asks[i], rows[perm[i]]["reply"]) for i in range(len(rows))]
    t = rq.DIFFERENT_QUESTION_THRESHOLD
    print(
        json.dumps(
            {
                "pairs": len(rows),
                "auc": round(rq.auc(true, shuffled), 4),
                "threshold": t,
                "flagged_true_share": round(sum(s < t for s in true) / len(true), 3),
                "flagged_shuffled_share": round(sum(s < t for s in shuffled) / len(true), 3),
            }
        )
    )
