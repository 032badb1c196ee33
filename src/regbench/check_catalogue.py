"""The catalogue of every data-quality check (`check_catalogue.yaml`), and its page in the docs.

The catalogue describes; the stages run their checks where the data are (GX at the door, SQL in
the warehouse, dbt tests, the audit). `tests/unit/test_check_catalogue.py` holds the two sides
together: a check that runs and is not catalogued, or a catalogued one that never runs, fails it.
Render the page with `python -m regbench.check_catalogue > docs/checks.md`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

CATALOGUE = Path(__file__).with_name("check_catalogue.yaml")
STAGES = ("door", "warehouse", "dbt", "audit")
STAGE_TITLES = {
    "door": "At the door: each delivered file, before it is loaded (Great Expectations)",
    "warehouse": "In the warehouse: the loaded history, per registry and unit",
    "dbt": "In the build: dbt tests",
    "audit": "Before publishing: the audit of the publication",
}


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    stage: Literal["door", "warehouse", "dbt", "audit"]
    kahn_category: Literal["conformance", "completeness", "plausibility"]
    severity: str
    implementation: str
    threshold: str
    note: str


def load(path: Path = CATALOGUE) -> list[Check]:
    checks = [Check.model_validate(c) for c in yaml.safe_load(path.read_text(encoding="utf-8"))["checks"]]
    seen: set[tuple[str, str]] = set()
    for c in checks:
        if (c.stage, c.name) in seen:
            raise ValueError(f"{path}: {c.stage} check {c.name!r} is listed twice")
        seen.add((c.stage, c.name))
    return checks


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(checks: list[Check]) -> str:
    lines = ["# Data-quality checks", "",
             "Rendered from `src/regbench/check_catalogue.yaml` by "
             "`python -m regbench.check_catalogue > docs/checks.md`; do not edit by hand.",
             "Categories follow Kahn et al. (2016): conformance, completeness, plausibility. "
             "Thresholds live in `expectations/<registry>.yaml`, the contracts in `registries/` and "
             "`dbt_project/disclosure_policy.yml`.", ""]
    for stage in STAGES:
        lines += [f"## {STAGE_TITLES[stage]}", "",
                  "| check | category | severity | threshold from | run by | what it means |",
                  "|---|---|---|---|---|---|"]
        for c in (c for c in checks if c.stage == stage):
            lines.append(f"| `{c.name}` | {c.kahn_category} | {_cell(c.severity)} | "
                         f"{_cell(c.threshold)} | {_cell(c.implementation)} | {_cell(c.note)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(load()), end="")
