"""The disclosure policy, read from its one file (`dbt_project/disclosure_policy.yml`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

POLICY_FILE = "disclosure_policy.yml"


class PolicyError(ValueError):
    """The policy file is missing, names an unknown policy or holds an impossible value."""


@dataclass(frozen=True)
class Policy:
    name: str
    # counts 1..k-1 are never published
    k: int
    # a denominator under this hides the cell (0: no such rule)
    min_denominator: int
    # under this denominator, a numerator or complement under k hides the cell (0: always)
    mid_denominator: int

    def dbt_vars(self) -> dict[str, int]:
        return {"suppression_k": self.k}


def load_policy(dbt_project_dir: Path, name: str | None = None) -> Policy:
    path = dbt_project_dir / POLICY_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: the disclosure policy file is missing") from exc
    chosen = name or doc.get("policy")
    policies = doc.get("policies") or {}
    if chosen not in policies:
        raise PolicyError(f"{path}: policy {chosen!r} is not one of {sorted(policies)}")
    spec = policies[chosen]
    policy = Policy(name=chosen, k=int(spec["k"]),
                    min_denominator=int(spec.get("min_denominator", 0)),
                    mid_denominator=int(spec.get("mid_denominator", 0)))
    if policy.k < 2:
        raise PolicyError(f"{path}: policy {chosen!r} has k={policy.k}; k must be at least 2")
    return policy
