"""A death dated before the operation is a data error caught at the door (issue 22): the row is
rejected naming dodsdatum and the rule, never loaded to count as a 30-day death. A death on the
day of the operation is a death within 30 days and loads."""

from datetime import date

from regbench.config import REPO_ROOT
from regbench.contracts import load_contracts
from regbench.parsing import parse_file
from regbench.personnummer import luhn_check_digit
from regbench.pseudonym import Pseudonymiser

TODAY = date(2026, 11, 24)
SWEDVASC = load_contracts(REPO_ROOT / "registries")["swedvasc"]
OPERATION = SWEDVASC.entity("operation")
UNIT = "SE2321000016-V001"
HEADER = ("personnummer,enhetskod,operationsdatum,registreringsdatum,ingreppstyp,symtomatisk,"
          "symtomdatum,elektiv,dodsdatum,vikt_kg")


def pnr(birth: str, serial: str) -> str:
    return f"{birth}{serial}{luhn_check_digit(birth[2:] + serial)}"


def row(serial: str, death: str) -> str:
    return (f"{pnr('19450101', serial)},{UNIT},2024-03-10 09:00:00,2024-03-20 00:00:00,AAA,,,1,"
            f"{death},80")


def test_death_before_the_operation_is_rejected_at_the_door(tmp_path):
    lines = [HEADER,
             row("101", ""),                        # row 2: alive
             row("102", "2024-03-09 00:00:00"),     # row 3: died the day before the operation
             row("103", "2024-03-10 00:00:00"),     # row 4: died on the day of the operation
             row("104", "2024-04-09 00:00:00"),     # row 5: day 30
             row("105", "2023-12-31 00:00:00")]     # row 6: months before
    path = tmp_path / "swedvasc_operation_2024-03.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = parse_file(path, SWEDVASC, OPERATION, pseudonymiser=Pseudonymiser(b"k" * 32),
                        known_units={UNIT}, today=TODAY)
    assert {(r.row_number, r.column, r.rule) for r in parsed.rejects} == {
        (3, "dodsdatum", "date_order"), (6, "dodsdatum", "date_order")}
    assert sorted(parsed.accepted.index) == [2, 4, 5]


def test_the_contract_orders_operation_before_death():
    assert ("operationsdatum", "dodsdatum") in OPERATION.date_order
