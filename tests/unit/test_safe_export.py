import csv

import pytest
from openpyxl import load_workbook

from regbench.safe_export import ExportRefused, check_relation, neutralise, write_csv, write_xlsx

DANGEROUS = ['=HYPERLINK("http://example.invalid","klicka")', "+46 8 123", "-2+3", "@SUM(A1)",
             "\t=1", "\r=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_text_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Södersjukhuset", "", None, 12, 0.5, "a=b"])
def test_other_values_are_untouched(value):
    assert neutralise(value) == value


def test_csv_cells_cannot_start_a_formula(tmp_path):
    path = tmp_path / "out.csv"
    write_csv(path, ["text", "n"], [(t, 1) for t in DANGEROUS] + [("vanlig text", None)])
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == ["text", "n"]
    assert [r[0] for r in rows[1:-1]] == ["'" + t for t in DANGEROUS]
    assert rows[-1] == ["vanlig text", ""]


def test_xlsx_cells_stay_text_not_formulas(tmp_path):
    path = tmp_path / "out.xlsx"
    texts = DANGEROUS[:-1]  # XML turns a lone carriage return into a line feed
    write_xlsx(path, ["text", "n"], [(t, 7) for t in texts])
    ws = load_workbook(path).active
    cells = [ws.cell(row=r, column=1) for r in range(2, 2 + len(texts))]
    assert [c.value for c in cells] == texts
    assert {c.data_type for c in cells} == {"s"}
    assert all(c.quotePrefix for c in cells)
    assert ws.cell(row=2, column=2).value == 7


@pytest.mark.parametrize("relation", ["raw.palliativ__dodsfall", "staging.stg_x", "ops.ledger; drop",
                                      "ledger"])
def test_patient_level_and_odd_relations_are_refused(relation):
    with pytest.raises(ExportRefused):
        check_relation(relation)


def test_publication_and_ops_tables_are_allowed():
    assert check_relation("publication.pub_indicator_values")
    assert check_relation("ops.ledger")
