"""The text classifier: cold start from the catalogue, versioned model files, corrections that
teach the router, the CLI on labelled CSVs, and the HTTP endpoint's guards."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from civicloop.cli import app as cli_app
from civicloop.core.errors import InputError
from civicloop.nlp import evaluate, features, models, service
from civicloop.nlp.store import classifier_corrections
from civicloop.runtime import Platform
from tests.helpers import login

REAL_CSV = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "citizen_messages_train.csv"
)
runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("小区门口的井盖不见了，晚上很危险", "C0101"),
        ("路灯坏了不亮，晚上一片漆黑", "C0201"),
        ("楼下饭店油烟太大，熏得窗户都不能开", "E1001"),
        ("路边的机动车乱停放，把人行道都堵了", "E0504"),
    ],
)
def test_cold_start_puts_the_right_element_first(platform: Platform, text: str, code: str) -> None:
    suggestions = service.classify(platform, text)
    assert suggestions[0].label == code
    assert suggestions[0].name == platform.catalogue.elements[code].name
    assert len(suggestions) == 3
    assert all(0.0 <= s.confidence <= 1.0 for s in suggestions)
    assert suggestions[0].confidence >= suggestions[1].confidence >= suggestions[2].confidence
    assert service.active_version(platform).startswith("coldstart-")


def test_the_cold_start_router_is_kept_as_a_checked_model_file(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_cold", {})  # a new process: nothing built yet
    text = "小区门口的井盖不见了，晚上很危险"
    built = service.classify(platform, text)
    [directory] = (platform.settings.data_dir / "models" / service.COLD_START).iterdir()
    meta = json.loads((directory / "meta.json").read_text("utf-8"))
    assert meta["sha256"] == models.sha256_of(directory / "model.joblib")
    assert meta["kind"] == "router" and meta["source"] == "catalogue"
    # the cold start is not a saved version: it does not become the active model
    assert models.list_versions(platform.settings.data_dir) == []

    monkeypatch.setattr(service, "_cold", {})  # the next process loads the file
    assert service.classify(platform, text) == built
    assert service.active_version(platform).startswith("coldstart-")

    model_file = directory / "model.joblib"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    monkeypatch.setattr(service, "_cold", {})
    models._cache.clear()
    # a tampered file is refused (never unpickled); the router is trained again instead
    assert service.classify(platform, text)[0].label == built[0].label


def test_empty_text_is_refused_naming_the_field(platform: Platform) -> None:
    with pytest.raises(InputError) as err:
        service.classify(platform, "   ")
    assert err.value.field == "text"


def test_a_correction_is_stored_and_teaches_the_next_router(platform: Platform) -> None:
    text = "铁皮棚屋顶上那只大喇叭每天早上五点开始循环播放卖货广告"
    before = service.classify(platform, text)
    chosen = "E0901"  # 噪音扰民
    assert before[0].label != chosen
    with platform.db.write() as conn:
        service.record_correction(
            conn,
            text=text,
            predicted=before[0].label,
            chosen=chosen,
            actor_id="u-operator",
            at=platform.clock.now(),
            model_version=service.active_version(platform),
        )
    with platform.db.read() as conn:
        rows = conn.execute(select(classifier_corrections)).all()
    assert len(rows) == 1
    assert rows[0].chosen_label == chosen and rows[0].predicted_label == before[0].label
    assert rows[0].model_version.startswith("coldstart-")
    assert rows[0].at == platform.clock.now()

    model = service.train_router(platform, version="router-1")
    assert model.meta["corrections"] == 1
    assert service.active_version(platform) == "router-1"
    after = service.classify(platform, text)
    assert after[0].label == chosen
    # the cold-start knowledge is still there
    assert service.classify(platform, "小区门口的井盖不见了")[0].label == "C0101"


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


SMALL = {
    "交通": [
        "公交车太少了等不到车",
        "道路拥堵严重红绿灯太长",
        "公交线路要延长",
        "出租车拒载乘客",
        "地铁站出口太远",
        "公交站台没有遮雨棚",
    ],
    "教育": [
        "学校乱收补课费",
        "孩子上幼儿园太难了",
        "学区划分不合理",
        "老师体罚学生",
        "中学食堂饭菜太差",
        "小学放学太早接不了孩子",
    ],
    "环保": [
        "化工厂排放黑烟污染空气",
        "河里有人偷排污水",
        "砖厂粉尘太大",
        "垃圾焚烧厂有臭味",
        "工地噪音超标",
        "养猪场污水直排河道",
    ],
}


def small_csv(tmp_path: Path) -> Path:
    rows = [
        {"title": t, "detail": f"反映：{t}，请相关部门处理。", "category": label}
        for label, titles in SMALL.items()
        for t in titles
    ]
    return _write_csv(tmp_path / "history.csv", rows)


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli_app, list(args))
    return result.exit_code, result.output


def test_train_eval_predict_and_models_on_a_csv(tmp_path: Path) -> None:
    history = small_csv(tmp_path)
    data_dir = str(tmp_path / "d")
    cols = ["--text-col", "title", "--text-col", "detail", "--label-col", "category"]

    code, out = cli("nlp", "eval", "--csv", str(history), *cols, "--folds", "3")
    assert code == 0, out
    assert "accuracy" in out and "macro-F1" in out and "交通" in out and "环保" in out

    code, out = cli(
        "nlp",
        "train",
        "--csv",
        str(history),
        *cols,
        "--data-dir",
        data_dir,
        "--version",
        "history-1",
        "--folds",
        "3",
    )
    assert code == 0, out
    assert "history-1" in out and "3-fold CV" in out
    meta = json.loads((Path(data_dir) / "models" / "history-1" / "meta.json").read_text("utf-8"))
    assert set(meta["labels"]) == {"交通", "教育", "环保"}
    assert meta["rows"] == 18 and meta["source"] == "csv:history.csv"
    assert meta["sha256"] == models.sha256_of(
        Path(data_dir) / "models" / "history-1" / "model.joblib"
    )
    assert 0.0 <= meta["cv"]["accuracy"] <= 1.0 and meta["created_at"]

    code, out = cli("nlp", "predict", "化工厂的烟囱冒黑烟", "--data-dir", data_dir)
    assert code == 0, out
    assert "history-1" in out and "环保" in out
    assert out.index("环保") < min(out.index("交通"), out.index("教育"))

    code, out = cli("nlp", "models", "--data-dir", data_dir)
    assert code == 0, out
    assert "history-1" in out and "*" in out

    # a version is never overwritten
    code, out = cli(
        "nlp",
        "train",
        "--csv",
        str(history),
        *cols,
        "--data-dir",
        data_dir,
        "--version",
        "history-1",
    )
    assert code == 2 and "history-1" in out


def test_clear_errors_for_bad_csv_files(tmp_path: Path) -> None:
    history = small_csv(tmp_path)
    code, out = cli(
        "nlp", "eval", "--csv", str(history), "--text-col", "body", "--label-col", "category"
    )
    assert code == 2 and "'body'" in out and "missing column" in out

    empty = tmp_path / "empty.csv"
    empty.write_text("", "utf-8")
    code, out = cli("nlp", "eval", "--csv", str(empty), "--text-col", "title")
    assert code == 2 and "empty" in out

    one = _write_csv(tmp_path / "one.csv", [{"title": "公交车太少", "category": "交通"}] * 4)
    code, out = cli(
        "nlp",
        "train",
        "--csv",
        str(one),
        "--text-col",
        "title",
        "--label-col",
        "category",
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert code == 2 and "'category'" in out and "2" in out


def test_a_tampered_model_file_is_refused(platform: Platform) -> None:
    history = small_csv(platform.settings.data_dir)
    data = evaluate.read_csv(history, ["title", "detail"], "category")
    service.train_labels(platform, data.texts, data.labels, source="test", version="v1")
    model_file = platform.settings.data_dir / "models" / "v1" / "model.joblib"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    models._cache.clear()  # a new process: nothing loaded yet
    service._active.clear()
    with pytest.raises(models.ModelFileError, match="sha256"):
        service.classify(platform, "公交车太少了")


def test_the_fast_scorer_agrees_with_the_pipeline(tmp_path: Path) -> None:
    data = evaluate.read_csv(small_csv(tmp_path), ["title", "detail"], "category")
    pipeline = features.build_pipeline().fit(data.texts, data.labels)
    scorer = features.FastScorer(pipeline)
    for text in [*data.texts[:5], "化工厂的烟囱冒黑烟", "完全无关的句子 xyz", ""]:
        assert np.allclose(scorer.probabilities(text), pipeline.predict_proba([text])[0])


def test_a_pinned_version_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no such model version"):
        models.resolve_directory(tmp_path, "nope")


@pytest.mark.skipif(not REAL_CSV.is_file(), reason="the shared citizen-message data is absent")
def test_train_and_predict_on_the_real_messages(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "d")
    code, out = cli(
        "nlp",
        "train",
        "--csv",
        str(REAL_CSV),
        "--text-col",
        "title",
        "--text-col",
        "detail",
        "--label-col",
        "label",
        "--data-dir",
        data_dir,
        "--folds",
        "0",
    )
    assert code == 0, out
    code, out = cli(
        "nlp", "predict", "孩子上学的学区划分不合理，学校离家太远", "--data-dir", data_dir
    )
    assert code == 0, out
    labels = [
        "城乡建设",
        "劳动和社会保障",
        "教育文体",
        "商贸旅游",
        "交通运输",
        "卫生计生",
        "环境保护",
    ]
    shown = sorted((out.index(label), label) for label in labels if label in out)
    assert shown[0][1] == "教育文体", out


def test_classify_endpoint(client: TestClient) -> None:
    body = {"text": "小区门口的井盖不见了，晚上很危险"}
    assert client.post("/api/v1/nlp/classify", json=body).status_code == 401
    assert (
        client.post("/api/v1/nlp/classify", json=body, headers=login(client, "citizen")).status_code
        == 403
    )

    headers = login(client, "operator")
    r = client.post("/api/v1/nlp/classify", json={**body, "top": 2}, headers=headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["model_version"].startswith("coldstart-")
    assert answer["suggestions"][0]["label"] == "C0101"
    assert len(answer["suggestions"]) == 2

    r = client.post("/api/v1/nlp/classify", json={"text": " "}, headers=headers)
    assert r.status_code == 422 and "text" in r.text
    r = client.post("/api/v1/nlp/classify", json={}, headers=headers)
    assert r.status_code == 422 and "text" in r.text
