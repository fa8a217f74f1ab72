"""mappings/texts.yaml: every flag, mechanism and care suggestion emitted has English and Chinese texts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.domain.rules import Flag
from service.domain.suggestions import CareSuggestion
from service.knowledge import MappingError, load_knowledge
from tests.conftest import REPO

KNOWLEDGE = load_knowledge(REPO / "mappings")
EMITTED = (
    [f"assessment-flag.{flag}" for flag in Flag]
    + [f"resistance-mechanism.{r.mechanism}" for r in KNOWLEDGE.resistance.to_domain().rules]
    + [f"care-suggestion.{code}" for code in CareSuggestion]
)


@pytest.mark.parametrize("key", sorted(set(EMITTED)))
def test_every_emitted_code_has_both_texts(key: str) -> None:
    """Each code has a non-empty English and a Simplified Chinese text, and they differ."""
    english, chinese = KNOWLEDGE.texts.text(key, "en"), KNOWLEDGE.texts.text(key, "zh-CN")
    assert english and chinese and english != chinese
    assert any("\u4e00" <= char <= "\u9fff" for char in chinese)


def test_missing_text_is_a_key_error() -> None:
    """An unknown key raises KeyError, so a caller can fall back to the code system's display."""
    with pytest.raises(KeyError):
        KNOWLEDGE.texts.text("assessment-flag.NO_SUCH_FLAG", "en")


def test_a_text_without_chinese_is_refused(tmp_path: Path) -> None:
    """Both languages are required for every entry."""
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", mappings)
    path = mappings / "texts.yaml"
    chinese = ', zh-CN: "\u764c\u80da\u6297\u539f\uff08CEA\uff09\u500d\u589e"'  # the CEA_DOUBLED text
    text = path.read_text(encoding="utf-8").replace(chinese, "")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=r"texts\.yaml") as err:
        load_knowledge(mappings)
    assert "CEA_DOUBLED" in err.value.entry
