"""Entity resolution, the computation: normalisation and linkage on small known sets."""

from __future__ import annotations

import pytest

from civicloop.registry.resolution_model import (
    Record,
    Thresholds,
    normalise_address,
    normalise_name,
    pairwise_scores,
    resolve,
)
from civicloop.registry.resolution_synth import generate


@pytest.mark.parametrize(
    ("raw", "core", "form"),
    [
        ("上海浦江科技发展有限责任公司", "浦江科技", "有限"),
        ("浦江科技（上海）有限公司", "浦江科技", "有限"),
        ("浦江科技(上海)有限公司", "浦江科技", "有限"),
        ("上海市浦江信息技术股份有限公司", "浦江信息", "股份"),
        ("ＡＢＣ电子商务公司", "ABC电商", "公司"),
        ("浦东南路餐饮有限公司", "浦东南路餐饮", "有限"),
    ],
)
def test_names_fold_variants(raw: str, core: str, form: str) -> None:
    assert normalise_name(raw) == (core, form)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("上海市浦东新区浦东南路一二三弄５号楼２０１室", "浦东南路123弄5号201"),
        ("浦东南路123弄5幢201", "浦东南路123弄5号201"),
        ("上海浦东张杨路十二弄3栋", "张杨路12弄3号"),
        ("世纪大道100号", "世纪路100号"),
    ],
)
def test_addresses_fold_variants(raw: str, norm: str) -> None:
    assert normalise_address(raw) == norm


def test_a_small_known_set_links_variants_and_keeps_lookalikes_apart() -> None:
    records = [
        Record("registry", "E1", "enterprise", name="上海浦江宏达科技发展有限公司",
               credit_code="91310115MA1K4PLX44", address="上海市浦东新区浦东南路100弄5号楼"),
        Record("permit", "P1", "enterprise", name="浦江宏达科技(上海)有限责任公司",
               address="浦东南路一〇〇弄5幢"),
        Record("device", "D1", "enterprise", name="ＯＫ别名", credit_code="91310115MA1K4PLX44"),
        # same brand and industry word, another enterprise at another address
        Record("permit", "P2", "enterprise", name="浦江宏远科技有限公司", address="张杨路20弄1号"),
        # exact name without an address and another legal form: a person should look
        Record("registry", "E2", "enterprise", name="金桥远航物流有限公司",
               address="张杨路20弄1号"),
        Record("case", "C2", "enterprise", name="金桥远航物流股份有限公司"),
    ]  # fmt: skip
    result = resolve(records, Thresholds(high=0.95, low=0.6))
    clusters = {k: tuple(c) for c in result.clusters for k in c}
    assert clusters["registry:E1"] == ("device:D1", "permit:P1", "registry:E1")
    assert clusters["permit:P2"] == ("permit:P2",)
    assert clusters["case:C2"] == ("case:C2",)
    assert [(p.left, p.right) for p in result.reviews] == [("case:C2", "registry:E2")]
    assert 0.6 <= result.reviews[0].probability < 0.95
    methods = {p.method for p in result.links}
    assert methods == {"exact_credit_code", "probabilistic"}


def test_rejected_pairs_are_neither_linked_nor_queued() -> None:
    records = [
        Record(
            "registry", "E2", "enterprise", name="金桥远航物流有限公司", address="张杨路20弄1号"
        ),
        Record("case", "C2", "enterprise", name="金桥远航物流股份有限公司"),
    ]
    result = resolve(records, rejected=[("registry:E2", "case:C2")])
    assert result.reviews == [] and result.links == []


def test_generated_set_meets_the_targets() -> None:
    synth = generate(300, seed=5)
    result = resolve(synth.records)
    precision, recall, *_ = pairwise_scores(result.clusters, synth.truth)
    assert precision >= 0.98 and recall >= 0.95
