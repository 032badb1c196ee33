"""The raw change log: every write to a raw table records, in its own transaction, which event
months of the table it touched, so the nightly build rebuilds those months and no others
(ops.raw_changes, consumed by the base tables' pre-hook; decision 0013).

A raw table whose entity has no event date is one unit: its writes record the month 0001-01-01,
as do rows without an event date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd

from regbench.contracts import Entity
from regbench.warehouse import Warehouse

NO_MONTH = date(1, 1, 1)


def month_expression(entity: Entity) -> str:
    column = entity.event_date_column
    if not column:
        return "CAST('0001-01-01' AS DATE)"
    return f"COALESCE(CAST(date_trunc('month', {column}) AS DATE), CAST('0001-01-01' AS DATE))"


def record_rows(wh: Warehouse, table: str, entity: Entity, where: str, params: Sequence,
                now: datetime) -> None:
    """Record the months of the raw rows `where` selects; call it before deleting them."""
    wh.execute(
        f"INSERT INTO ops.raw_changes (table_name, event_month, changed_at) "
        f"SELECT DISTINCT ?, {month_expression(entity)}, ? FROM {table} WHERE {where}",
        [table, now, *params],
    )


def record_frame(wh: Warehouse, table: str, entity: Entity, frame: pd.DataFrame,
                 now: datetime) -> None:
    """Record the months of rows about to be appended from a frame."""
    rows = pd.DataFrame(
        [(table, m, pd.Timestamp(now)) for m in sorted(months_of(entity, frame))],
        columns=["table_name", "event_month", "changed_at"],
    )
    if len(rows):
        wh.bulk_insert("ops.raw_changes", rows)


def months_of(entity: Entity, frame: pd.DataFrame) -> set[date]:
    column = entity.event_date_column
    if not len(frame):
        return set()
    if not column:
        return {NO_MONTH}
    dates = pd.to_datetime(frame[column], errors="coerce")
    months = {d.date().replace(day=1) for d in dates.dropna()}
    return months | ({NO_MONTH} if dates.isna().any() else set())
