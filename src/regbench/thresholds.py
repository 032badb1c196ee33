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


class DoorRule(_Strict):
    """How much of a delivered file may break one kind of rule, and what breaking it more means."""

    # None: the contract's reject_threshold_pct
    max_violating_pct: float | None = Field(None, ge=0, le=100)
    severity: Severity = "warning"
    note: str = ""


DOOR_RULES = ("required_values", "unknown_codes", "code_lists", "ranges", "future_dates")


class Door(_Strict):
    """Checks on each delivered file, by kind; `columns` overrides a kind for one column."""

    required_values: DoorRule = DoorRule(severity="fatal")
    unknown_codes: DoorRule = DoorRule(max_violating_pct=20)
    code_lists: DoorRule = DoorRule(max_violating_pct=0)
    ranges: DoorRule = DoorRule(max_violating_pct=0)
    future_dates: DoorRule = DoorRule(max_violating_pct=0)
    # a correction (a new file for a period already loaded) that would remove more than this share
    # of its predecessor's rows waits in quarantine until a person accepts it
    max_correction_removes_pct: float = Field(50, ge=0, le=100)
    columns: dict[str, dict[Literal[DOOR_RULES], DoorRule]] = {}

    def rule(self, kind: str, column: str) -> DoorRule:
        return self.columns.get(column, {}).get(kind) or getattr(self, kind)


class Thresholds(_Strict):
    registry_id: str
    door: Door = Door()
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
