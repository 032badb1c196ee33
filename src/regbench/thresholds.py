"""Per-registry data-quality thresholds (`expectations/<registry>.yaml`): adding a registry needs a
file, not Python. A broken file fails with its path and the field that is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Severity = Literal["fatal", "warning"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistrationFrequency(_Strict):
    window_months: int = Field(3, ge=1, le=12)
    baseline_months: int = Field(12, ge=3, le=36)
    min_share_of_baseline: float = Field(0.5, gt=0, le=1)
    # units whose usual volume over the window is below this are too small to judge
    min_expected: float = Field(15, ge=0)
    severity: Severity = "warning"
    note: str = ""


class Coverage(_Strict):
    min_coverage: float = Field(0.7, gt=0, le=1)
    min_persons: int = Field(20, ge=1)
    severity: Severity = "warning"
    note: str = ""


class Timeliness(_Strict):
    window_months: int = Field(12, ge=1)
    max_p90_days: float = Field(120, gt=0)
    min_registrations: int = Field(10, ge=1)
    severity: Severity = "warning"
    note: str = ""


class Completeness(_Strict):
    window_months: int = Field(12, ge=1)
    max_missing_pct: float = Field(10, ge=0, le=100)
    min_registrations: int = Field(10, ge=1)
    variables: tuple[str, ...] = ()
    severity: Severity = "warning"
    note: str = ""


class Thresholds(_Strict):
    registry_id: str
    registration_frequency: RegistrationFrequency = RegistrationFrequency()
    coverage: Coverage = Coverage()
    timeliness: Timeliness = Timeliness()
    completeness: Completeness = Completeness()


class ThresholdsError(ValueError):
    """A thresholds file that cannot be used; the message names the file and the field."""


def load_thresholds(directory: Path, registry_id: str) -> Thresholds:
    path = directory / f"{registry_id}.yaml"
    if not path.exists():
        raise ThresholdsError(f"{path}: missing; copy another registry's file and adjust it")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    try:
        thresholds = Thresholds.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ThresholdsError(f"{path}: {field}: {first['msg']}") from None
    if thresholds.registry_id != registry_id:
        raise ThresholdsError(f"{path}: registry_id: is {thresholds.registry_id!r}, expected "
                              f"{registry_id!r} (the file name)")
    return thresholds
