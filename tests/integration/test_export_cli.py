"""A file delivered under a formula-like name is kept as text, and the ledger a registry manager
exports for a spreadsheet cannot run it."""

import csv
import shutil

from openpyxl import load_workbook
from typer.testing import CliRunner

from regbench.cli import app
from regbench.config import get_settings
from regbench.ingest import ingest_registry

NAME = '=HYPERLINK("example.invalid","klicka").csv'


def test_exported_ledger_neutralises_a_formula_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH", "REGBENCH_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    (settings.inbox / "swedvasc").mkdir(parents=True)
    shutil.copyfile(__file__, settings.inbox / "swedvasc" / NAME)
    report = ingest_registry(settings, "swedvasc")
    assert report.files_quarantined == 1

    runner = CliRunner()
    out_csv, out_xlsx = tmp_path / "ledger.csv", tmp_path / "ledger.xlsx"
    for out in (out_csv, out_xlsx):
        result = runner.invoke(app, ["export", "ops.ledger", "--out", str(out)])
        assert result.exit_code == 0, result.output
    with out_csv.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert [r["original_name"] for r in rows] == ["'" + NAME]
    assert rows[0]["status"] == "quarantined"
    ws = load_workbook(out_xlsx).active
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("original_name") + 1)
    assert (cell.value, cell.data_type) == (NAME, "s")

    refused = runner.invoke(app, ["export", "raw.swedvasc__operation", "--out", str(out_csv)])
    assert refused.exit_code == 1 and "only ops." in refused.output
