"""Tables written for people (CSV or Excel) from the ops and publication schemas.

A cell that starts with `=`, `+`, `-`, `@`, tab or carriage return would be run as a formula by a
spreadsheet (CSV injection); such text is written so that it can only ever be text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# only what is meant for people; raw holds patient-level rows and never leaves the warehouse
EXPORTABLE = re.compile(r"^(ops|publication)\.[a-z_][a-z0-9_]*$")


class ExportRefused(ValueError):
    """The relation may not be exported; the message says which may."""


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def check_relation(relation: str) -> str:
    if not EXPORTABLE.fullmatch(relation):
        raise ExportRefused(
            f"{relation!r} cannot be exported: only ops.<table> and publication.<table> are meant "
            "for people (raw and staging hold patient-level rows)"
        )
    return relation


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Semicolon-separated UTF-8 with BOM: what Excel with Swedish settings opens correctly."""
    n = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=";", lineterminator="\r\n")
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if v is None else neutralise(v) for v in row])
            n += 1
    return n


def write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.append(list(columns))
    n = 0
    for r, row in enumerate(rows, start=2):
        for c, v in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(v, str):
                cell.value = v
                # openpyxl turns a string starting with "=" into a formula; keep it a string
                cell.data_type = "s"
                if v.startswith(FORMULA_START):
                    cell.quotePrefix = True
            else:
                cell.value = v
        n += 1
    wb.save(path)
    return n


def export(wh, relation: str, path: Path) -> int:
    """Write one ops or publication table to `path` (.csv or .xlsx); returns the row count."""
    check_relation(relation)
    schema, table = relation.split(".")
    if not wh.table_exists(schema, table):
        raise ExportRefused(f"{relation} does not exist in the warehouse; has the pipeline run?")
    cols = [c for (c,) in wh.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
        " ORDER BY ordinal_position", [schema, table])]
    rows = wh.fetchall(f"SELECT * FROM {relation}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, cols, rows)
    if suffix == ".xlsx":
        return write_xlsx(path, cols, rows)
    raise ExportRefused(f"{path.name}: write to a .csv or .xlsx file")
