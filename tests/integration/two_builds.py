"""Helpers for tests that build the same raw twice: point regbench at a var and warehouse, and
compare a table's rows between the builds (floats within 1e-9, everything else exact)."""

import math


def _key(row) -> tuple:
    """Order rows by everything but their floats, so both warehouses line up."""
    return tuple("" if isinstance(v, float) or v is None else str(v) for v in row)


def _same(a, b) -> bool:
    from decimal import Decimal

    if isinstance(a, Decimal) or isinstance(b, Decimal):
        a, b = (float(a) if a is not None else None), (float(b) if b is not None else None)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


def use_var(monkeypatch, var, inbox, warehouse: str, dsn: str | None = None) -> None:
    monkeypatch.setenv("REGBENCH_VAR", str(var))
    monkeypatch.setenv("REGBENCH_INBOX", str(inbox))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.setenv("REGBENCH_TODAY", "2026-11-24")
    monkeypatch.setenv("REGBENCH_WAREHOUSE", warehouse)
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    if dsn:
        monkeypatch.setenv("REGBENCH_POSTGRES_DSN", dsn)
