"""docs/catalogue.md stays true: its example is a valid catalogue and every key is documented."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from civicloop.catalogue.loader import default_catalogue, load_catalogue
from civicloop.catalogue.schemas import SECTIONS, CatalogueFile, DefaultsIn, DiscoveryIn
from civicloop.catalogue.schemas import FilingConditionIn as FilingIn

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_the_example_is_a_valid_catalogue(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", text(), flags=re.S)
    example = next(b for b in blocks if "elements:" in b)
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    catalogue = load_catalogue(path)
    assert list(catalogue.elements) == ["C0101"]


def test_every_key_of_the_format_is_documented() -> None:
    doc = text()
    models = [CatalogueFile, DefaultsIn, FilingIn, DiscoveryIn, *SECTIONS.values()]
    for model in models:
        for key in model.model_fields:
            assert f"`{key}`" in doc, f"{model.__name__}.{key} is not in docs/catalogue.md"


def test_the_documented_counts_match_the_default_catalogue() -> None:
    cat = default_catalogue()
    kinds = Counter(e.kind.value for e in cat.elements.values())
    governances = Counter(e.governance.value for e in cat.elements.values())
    expected = (
        f"{len(cat.categories)} categories, {len(cat.scenes)}\nscenes, {len(cat.elements)} "
        f"elements ({kinds['component']} components, {kinds['event']} events: "
        f"{governances['urban']} urban, {governances['social']} social, "
        f"{governances['economic']} economic), {len(cat.departments)}\n"
        f"departments and {len(cat.deadline_classes)} deadline classes"
    )
    assert expected in text()
