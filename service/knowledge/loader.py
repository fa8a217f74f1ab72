"""Read one YAML mapping file and validate it into its pydantic model.

An invalid file stops the service with a :class:`MappingError` that names the file, the entry (a path
such as ``length[1].to_mm``) and the problem, so the person editing ``mappings/`` knows what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

# libyaml's safe loader when PyYAML was built with it (its wheels are): the pure-Python one takes seconds
# for the whole folder here. Both build plain Python objects only.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class MappingModel(BaseModel):
    """Base for every mapping file's model: unknown keys are errors, loaded objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingError(Exception):
    """A mapping file is missing, is not YAML, or does not match its model."""

    def __init__(self, file: Path, entry: str, problem: str) -> None:
        self.file, self.entry, self.problem = file, entry, problem
        super().__init__(f"{file.name}: {entry}: {problem}")


M = TypeVar("M", bound=MappingModel)


def load_mapping(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506  # a safe loader
    except FileNotFoundError:
        raise MappingError(path, "(file)", "file not found") from None
    except yaml.YAMLError as exc:
        raise MappingError(path, "(file)", f"not valid YAML: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise MappingError(path, _entry_path(first["loc"]) or "(root)", first["msg"]) from None


def _entry_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
