"""Publish: make the audited publication layer visible to dashboards, all at once.

On DuckDB the publication schema is copied into a new file that replaces the published one with an
atomic rename; Superset opens that file read-only and never sees the warehouse being written.
A manifest records a fingerprint per table, so an unchanged night is visibly unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from regbench.config import Settings
from regbench.warehouse import Warehouse


def publication_tables(wh: Warehouse) -> list[str]:
    return [
        t for (t,) in wh.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'publication'"
            " ORDER BY table_name"
        )
    ]


def fingerprint(wh: Warehouse, table: str) -> tuple[str, int]:
    """sha256 over the table's rows in a fixed order, independent of physical order."""
    rows = wh.fetchall(f"SELECT * FROM publication.{table}")
    canon = sorted(repr(tuple(_canon(v) for v in row)) for row in rows)
    h = hashlib.sha256()
    for line in canon:
        h.update(line.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest(), len(rows)


def _canon(v):
    # Parallel aggregation sums floats in a different order on each build, so the last bits
    # move; ten significant digits is far beyond what any published figure means.
    if isinstance(v, float):
        return float(f"{v:.10g}")
    return v


def manifest_path(settings: Settings) -> Path:
    return settings.published_path.with_suffix(".manifest.json")


def publish(settings: Settings, wh: Warehouse) -> dict:
    tables = publication_tables(wh)
    if not tables:
        raise RuntimeError("nothing to publish: the publication schema has no tables; run dbt first")
    manifest = {
        "published_at": datetime.now().replace(microsecond=0).isoformat(),
        "warehouse": settings.warehouse,
        "tables": {},
    }
    for t in tables:
        digest, n = fingerprint(wh, t)
        manifest["tables"][t] = {"rows": n, "sha256": digest}
    if settings.warehouse == "duckdb":
        _swap_duckdb_file(settings, wh, tables)
        manifest["path"] = str(settings.published_path)
    target = manifest_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return manifest


def _swap_duckdb_file(settings: Settings, wh: Warehouse, tables: list[str]) -> None:
    final = settings.published_path
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.stem + ".next.duckdb")
    tmp.unlink(missing_ok=True)
    wh.execute(f"ATTACH '{tmp}' AS pub_next")
    try:
        wh.execute("CREATE SCHEMA pub_next.publication")
        for t in tables:
            wh.execute(f"CREATE TABLE pub_next.publication.{t} AS SELECT * FROM publication.{t}")
    finally:
        wh.execute("DETACH pub_next")
    os.replace(tmp, final)


def read_manifest(settings: Settings) -> dict | None:
    path = manifest_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
