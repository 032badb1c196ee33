"""Settings from the environment (12-factor). Every path regbench writes lives under REGBENCH_HOME/var."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[2]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse: Literal["duckdb", "postgres"]
    demo_mode: bool
    postgres_dsn: str
    contracts_dir: Path

    @property
    def loader_dsn(self) -> str:
        """Ingest writes raw and ops as the loader role when one is configured (infra/postgres)."""
        return os.environ.get("REGBENCH_LOADER_DSN") or self.postgres_dsn

    @property
    def var(self) -> Path:
        return Path(os.environ.get("REGBENCH_VAR", self.home / "var")).resolve()

    @property
    def inbox(self) -> Path:
        return Path(os.environ.get("REGBENCH_INBOX", self.var / "inbox"))

    @property
    def lake(self) -> Path:
        return self.var / "lake"

    @property
    def quarantine(self) -> Path:
        return self.var / "quarantine"

    @property
    def duckdb_path(self) -> Path:
        return Path(os.environ.get("REGBENCH_DUCKDB_PATH", self.var / "warehouse" / "regbench.duckdb"))

    @property
    def published_path(self) -> Path:
        """The read-only copy of the publication layer that dashboards open."""
        return self.var / "published" / "regbench_pub.duckdb"

    @property
    def data_docs(self) -> Path:
        return self.var / "gx" / "data_docs"

    @property
    def gx_dir(self) -> Path:
        return self.var / "gx"

    @property
    def logs(self) -> Path:
        return self.var / "logs"

    @property
    def thresholds_dir(self) -> Path:
        return Path(os.environ.get("REGBENCH_EXPECTATIONS", self.home / "expectations"))

    @property
    def dbt_project_dir(self) -> Path:
        return self.home / "dbt_project"

    @property
    def dbt_target_path(self) -> Path:
        # one target path per warehouse so partial parsing survives switching (STACK.md)
        return self.var / "dbt" / f"target-{self.warehouse}"


def private_umask() -> None:
    """What regbench writes (the warehouse with its pseudonymised rows, logs, releases) is for
    its own service user and group only: 0640 files, 0750 folders, whatever umask it started with.
    Every entry point reads its settings first, so this is done there."""
    old = os.umask(0o027)
    os.umask(old | 0o027)


def get_settings() -> Settings:
    private_umask()
    home = Path(os.environ.get("REGBENCH_HOME", REPO_ROOT)).resolve()
    warehouse = os.environ.get("REGBENCH_WAREHOUSE", "duckdb").strip().lower()
    if warehouse not in {"duckdb", "postgres"}:
        raise ValueError(
            f"REGBENCH_WAREHOUSE={warehouse!r} is not supported; use 'duckdb' or 'postgres'"
        )
    return Settings(
        home=home,
        warehouse=warehouse,  # type: ignore[arg-type]
        demo_mode=_flag(os.environ.get("REGBENCH_DEMO")),
        postgres_dsn=os.environ.get(
            "REGBENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/regbench"
        ),
        contracts_dir=Path(os.environ.get("REGBENCH_CONTRACTS", home / "registries")),
    )
