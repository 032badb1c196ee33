"""Great Expectations at the door: suites from the contract, counts only, nothing leaks."""

from datetime import date

import pandas as pd
import pytest

from regbench.config import REPO_ROOT
from regbench.contracts import load_contracts
from regbench.data_docs_offline import LOCAL
from regbench.door_validation import DoorValidator, fatal_failures
from regbench.thresholds import DOOR_RULES, Door, load_thresholds

TODAY = date(2026, 11, 24)
CONTRACT = load_contracts(REPO_ROOT / "registries")["palliativ"]
ENTITY = CONTRACT.entity("dodsfall")
LEAKS = ["deadbeef" * 8, "HEMLIGT-VÄRDE-123", "ZZZ-LEAK"]


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    return DoorValidator(tmp_path_factory.mktemp("gx"))


def frame(n: int = 40) -> pd.DataFrame:
    data = {
        "enhetskod": ["SE2321000137-P107"] * n,
        "dodsdatum": pd.to_datetime(["2024-03-05"] * n),
        "registreringsdatum": pd.to_datetime(["2024-04-01"] * n),
        "kommentar": [None] * n,
        "person_id": [f"{i:064x}" for i in range(n)],
        "pnr_kind": ["personnummer"] * n,
        "birth_year": pd.array([1940] * n, dtype="Int64"),
        "sex": ["K"] * n,
    }
    for col in ("vantat_dodsfall", "brytpunktssamtal", "smartskattning", "munhalsa",
                "vid_behov_opioid", "vid_behov_angest"):
        data[col] = ["1"] * n
    data["trycksar_grad"] = ["0"] * n
    return pd.DataFrame(data)


def run(validator, df):
    return validator.validate(df, CONTRACT, ENTITY, file_id="f" * 64, file_name="x.csv", today=TODAY)


def find(results, check, column):
    return next(r for r in results if r.check == check and r.column == column)


def test_clean_file_passes_every_check(validator):
    results = run(validator, frame())
    assert results and all(r.success for r in results)
    kinds = {r.kahn_category for r in results}
    assert kinds == {"conformance", "completeness", "plausibility"}


def test_missing_required_column_is_a_fatal_conformance_failure(validator):
    results = run(validator, frame().drop(columns=["enhetskod"]))
    r = find(results, "expect_column_to_exist", "enhetskod")
    assert not r.success and r.severity == "fatal" and r.kahn_category == "conformance"
    assert r in fatal_failures(results)


def test_half_empty_required_column_is_a_fatal_completeness_failure_with_counts(validator):
    df = frame()
    df.loc[:19, "brytpunktssamtal"] = None
    r = find(run(validator, df), "expect_column_values_to_not_be_null", "brytpunktssamtal")
    assert not r.success and r.severity == "fatal"
    assert (r.element_count, r.unexpected_count) == (40, 20)


def test_unusable_personnummer_counts_against_person_id(validator):
    df = frame()
    df.loc[:9, "person_id"] = None
    r = find(run(validator, df), "expect_column_values_to_not_be_null", "person_id")
    assert not r.success and r.unexpected_count == 10


def test_code_outside_the_list_and_future_date_are_warnings(validator):
    df = frame()
    df.loc[0, "munhalsa"] = "ZZZ-LEAK"
    df.loc[1, "dodsdatum"] = pd.Timestamp("2027-01-01")
    results = run(validator, df)
    code = find(results, "expect_column_values_to_be_in_set", "munhalsa")
    future = find(results, "expect_column_values_to_be_between", "dodsdatum")
    assert not code.success and code.severity == "warning" and code.unexpected_count == 1
    assert not future.success and future.kahn_category == "plausibility"
    assert not fatal_failures(results)


def test_no_value_reaches_stored_results_or_data_docs(validator):
    df = frame()
    df.loc[0, "person_id"] = LEAKS[0]
    df.loc[1, "kommentar"] = LEAKS[1]
    df.loc[2, "trycksar_grad"] = LEAKS[2]
    df.loc[3, "enhetskod"] = None
    run(validator, df)
    index = validator.build_data_docs()
    assert index.exists()
    scanned = 0
    for path in validator.gx_dir.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".html", ".yml", ".yaml"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            scanned += 1
            for marker in LEAKS:
                assert marker not in text, f"{marker} leaked into {path}"
    assert scanned > 5


def test_unknown_codes_count_as_missing_beyond_the_tolerated_share(validator):
    df = frame()
    df.loc[:4, "munhalsa"] = "9"  # 5 of 40 = 12.5 %, under the default 20 %
    ok = find(run(validator, df), "expect_column_values_to_not_be_in_set", "munhalsa")
    assert ok.success and ok.kahn_category == "completeness" and ok.unexpected_count == 5
    df.loc[:11, "munhalsa"] = "9"  # 12 of 40 = 30 %
    bad = find(run(validator, df), "expect_column_values_to_not_be_in_set", "munhalsa")
    assert not bad.success and bad.severity == "warning" and bad.threshold_pct == 20


def test_thresholds_file_sets_share_and_severity_per_kind_and_per_column(validator):
    door = Door.model_validate({
        "code_lists": {"max_violating_pct": 10, "severity": "warning"},
        "columns": {"munhalsa": {"code_lists": {"max_violating_pct": 0, "severity": "fatal"}}},
    })
    df = frame()
    df.loc[0, "munhalsa"] = "7"
    df.loc[0, "smartskattning"] = "7"  # 1 of 40 = 2.5 %, within the registry-wide 10 %
    results = validator.validate(df, CONTRACT, ENTITY, file_id="f" * 64, file_name="x.csv",
                                 today=TODAY, door=door)
    column_rule = find(results, "expect_column_values_to_be_in_set", "munhalsa")
    kind_rule = find(results, "expect_column_values_to_be_in_set", "smartskattning")
    assert not column_rule.success and column_rule in fatal_failures(results)
    assert kind_rule.success and kind_rule.threshold_pct == 10


def test_every_registry_thresholds_file_loads_with_its_door_rules():
    for registry_id in load_contracts(REPO_ROOT / "registries"):
        door = load_thresholds(REPO_ROOT / "expectations", registry_id).door
        assert door.required_values.severity == "fatal"
        assert all(door.rule(kind, "x").note for kind in DOOR_RULES), registry_id


def test_data_docs_of_a_later_run_add_its_files_and_keep_the_earlier_pages(tmp_path):
    first = DoorValidator(tmp_path)
    first.validate(frame(), CONTRACT, ENTITY, file_id="a" * 64, file_name="first.csv", today=TODAY)
    index = first.build_data_docs()
    pages = set((tmp_path / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 1
    (earlier,) = pages
    written = earlier.stat().st_mtime_ns

    later = DoorValidator(tmp_path)  # the next night's process
    later.validate(frame(), CONTRACT, ENTITY, file_id="b" * 64, file_name="later.csv", today=TODAY)
    assert later.build_data_docs() == index
    pages = set((tmp_path / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2
    text = index.read_text(encoding="utf-8")
    assert "first.csv" in text and "later.csv" in text
    # the earlier file's page is neither rendered again nor lost, and every page works offline
    assert earlier.stat().st_mtime_ns == written
    for page in [index, *pages]:
        text = page.read_text(encoding="utf-8")
        assert not [url for url in LOCAL if url in text], page


def test_files_of_two_entities_taken_in_alternately_are_all_validated(tmp_path):
    """A registry's monthly exports and its yearly reference extract arrive interleaved by period;
    building the second entity's suite used to leave the first one's checkpoint stale, and GX
    refused every later file of it (they were quarantined as processing_failed)."""
    validator = DoorValidator(tmp_path)
    reference = CONTRACT.entity("referens")
    ref = pd.DataFrame({"enhetskod": ["SE2321000137-P107"] * 10,
                        "handelsedatum": pd.to_datetime(["2024-03-05"] * 10),
                        "person_id": [f"{i:064x}" for i in range(10)],
                        "pnr_kind": ["personnummer"] * 10})
    for _ in range(3):
        assert not fatal_failures(run(validator, frame()))
        results = validator.validate(ref, CONTRACT, reference, file_id="r" * 64, file_name="r.csv",
                                     today=TODAY)
        assert results and not fatal_failures(results)
