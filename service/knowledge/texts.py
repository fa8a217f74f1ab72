"""Model of ``mappings/texts.yaml``: report texts by key and language (FHIR-CONTRACT.md sections 4-5)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from service.knowledge.loader import MappingModel

Language = Literal["en", "zh-CN"]


class Text(MappingModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    en: str = Field(min_length=1)
    zh_cn: str = Field(min_length=1, alias="zh-CN")

    def get(self, language: str) -> str:
        return self.zh_cn if language == "zh-CN" else self.en


class ReportTexts(MappingModel):
    texts: dict[str, Text]

    def text(self, key: str, language: str) -> str:
        """The text of ``{code-system-id}.{code}`` in ``en`` or ``zh-CN``; KeyError when it is missing."""
        return self.texts[key].get(language)
