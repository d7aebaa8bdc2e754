"""`civicloop nlp …` commands: train, evaluate, try and list the text classifier's models.

``train`` without ``--csv`` retrains the element router from the catalogue plus every stored
operator correction; with ``--csv`` it learns a deployment's own label set from its history.
Either way the result is a new version directory under ``<data_dir>/models`` (see
``nlp.models``), which becomes the active model unless ``CIVICLOOP_NLP_MODEL`` pins another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civicloop.cli_support import DataDir, fail, open_platform
from civicloop.core.errors import CivicError
from civicloop.nlp import evaluate, models, service

app = typer.Typer(help="The text classifier: train, evaluate, predict.", no_args_is_help=True)
out = Console()

CsvOpt = Annotated[Path | None, typer.Option("--csv", help="labelled CSV (UTF-8)")]
TextCols = Annotated[
    list[str] | None,
    typer.Option("--text-col", help="text column; repeat it (the first is weighted as the title)"),
]
LabelCol = Annotated[str, typer.Option("--label-col", help="label column")]
TaxonomyOpt = Annotated[
    Path | None,
    typer.Option(
        "--taxonomy",
        help="label-hierarchy CSV (label, then sub-category names): extra training sentences",
    ),
]
VersionOpt = Annotated[str | None, typer.Option("--version", help="name of the new version")]


@app.command()
def train(
    csv: CsvOpt = None,
    text_col: TextCols = None,
    label_col: LabelCol = "label",
    version: VersionOpt = None,
    folds: Annotated[int, typer.Option(help="cross-validation folds for the CSV model")] = 5,
    taxonomy: TaxonomyOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Train a new model version (the router from catalogue + corrections, or from a CSV)."""
    p = open_platform(data_dir)
    try:
        if csv is None:
            model = service.train_router(p, version=version)
        else:
            data = evaluate.read_csv(csv, text_col or [], label_col)
            prior = evaluate.read_taxonomy(taxonomy, data.labels) if taxonomy else None
            scores = {}
            if folds >= 2 and evaluate.usable_folds(data.labels, folds, label_col) >= 2:
                result = evaluate.cross_validate(data, folds=folds, prior=prior)
                scores = {
                    "folds": result.folds,
                    "accuracy": round(result.accuracy, 4),
                    "macro_f1": round(result.macro_f1, 4),
                }
            model = service.train_labels(
                p,
                data.texts,
                data.labels,
                source=f"csv:{csv.name}",
                version=version,
                cv_scores=scores,
                prior=(prior.texts, prior.labels) if prior else None,
            )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    meta = model.meta
    out.print(
        f"已保存模型 saved model [bold]{model.version}[/bold]: {meta.get('rows')} rows, "
        f"{len(model.labels)} labels, source {meta.get('source')}"
    )
    cv = meta.get("cv") or {}
    if cv:
        out.print(
            f"{cv['folds']}-fold CV: accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}"
        )


@app.command("eval")
def eval_(
    csv: Annotated[Path, typer.Option("--csv", help="labelled CSV (UTF-8)")],
    text_col: TextCols = None,
    label_col: LabelCol = "label",
    folds: Annotated[int, typer.Option(help="stratified cross-validation folds")] = 5,
    taxonomy: TaxonomyOpt = None,
) -> None:
    """Cross-validate the classifier on a CSV: accuracy, macro-F1 and the confusion matrix."""
    try:
        data = evaluate.read_csv(csv, text_col or [], label_col)
        prior = evaluate.read_taxonomy(taxonomy, data.labels) if taxonomy else None
        result = evaluate.cross_validate(data, folds=folds, prior=prior)
    except CivicError as exc:
        fail(exc)
    table = Table(
        title=f"混淆矩阵 confusion matrix (rows: true, columns: predicted; {len(data.texts)} rows)"
    )
    table.add_column("真实 \\ 预测", no_wrap=True)
    for label in result.labels:
        table.add_column(label, justify="right", no_wrap=True)
    for label, row in zip(result.labels, result.confusion, strict=True):
        table.add_row(label, *(str(n) for n in row))
    out.print(table)
    out.print(
        f"{result.folds}-fold CV  accuracy {result.accuracy:.3f}  macro-F1 {result.macro_f1:.3f}"
    )


@app.command()
def predict(
    text: Annotated[str, typer.Argument(help="the text to classify")],
    top: Annotated[int, typer.Option(help="how many suggestions")] = 3,
    data_dir: DataDir = None,
) -> None:
    """Print the active model's top suggestions for a text."""
    p = open_platform(data_dir)
    try:
        suggestions = service.classify(p, text, top=top)
        version = service.active_version(p)
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    table = Table(title=f"模型 model {version}")
    table.add_column("标签 label")
    table.add_column("名称 name")
    table.add_column("置信度 confidence", justify="right")
    for s in suggestions:
        table.add_row(s.label, s.name, f"{s.confidence:.3f}")
    out.print(table)


@app.command("models")
def list_models(data_dir: DataDir = None) -> None:
    """List saved model versions and say which one is active."""
    p = open_platform(data_dir)
    try:
        active = service.active_version(p)
        versions = models.list_versions(p.settings.data_dir)
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    table = Table(title=f"文本分类模型 models in {models.models_dir(p.settings.data_dir)}")
    for col in ("", "version", "kind", "source", "rows", "labels", "CV accuracy", "created_at"):
        table.add_column(col)
    for m in versions:
        cv = m.get("cv") or {}
        table.add_row(
            "*" if m["version"] == active else "",
            m["version"],
            str(m.get("kind", "")),
            str(m.get("source", "")),
            str(m.get("rows", "")),
            str(len(m.get("labels", {}))),
            f"{cv['accuracy']:.3f}" if cv else "",
            str(m.get("created_at", "")),
        )
    out.print(table)
    if not any(m["version"] == active for m in versions):
        out.print(f"active: {active} (冷启动 cold start from the catalogue)")
