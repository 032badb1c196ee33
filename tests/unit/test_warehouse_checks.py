from datetime import date
from pathlib import Path

import pytest

from regbench.thresholds import Thresholds, ThresholdsError, load_thresholds
from regbench.warehouse_checks import coverage, months_back, registration_frequency

EXPECTATIONS = Path(__file__).parents[2] / "expectations"
REGISTRIES = Path(__file__).parents[2] / "registries"
T = Thresholds(registry_id="x")


def months(n: int, end: date = date(2026, 10, 1)) -> list[date]:
    return [months_back(end, i) for i in reversed(range(n))]


def series(values: list[int], unit: str = "U1") -> list[tuple]:
    return [("x", unit, m, v) for m, v in zip(months(len(values)), values, strict=True)]


def test_a_unit_whose_last_three_months_fall_below_half_its_usual_volume_fails():
    (r,) = registration_frequency(series([20] * 12 + [2, 1, 0]), T)
    assert (r.status, r.unexpected_count, r.element_count) == ("failed", 3, 60)
    assert r.observed_value == pytest.approx(3 / 60)
    assert r.period == "2026-08..2026-10"


def test_ordinary_variation_passes_and_exactly_half_is_not_a_collapse():
    ok, half = registration_frequency(series([20] * 12 + [15, 25, 12]) + series(
        [20] * 12 + [10, 10, 10], unit="U2"), T)
    assert ok.status == "passed" and half.status == "passed"


def test_units_too_small_or_too_new_to_judge_are_not_applicable():
    small, new, short = registration_frequency(
        series([4] * 12 + [0, 0, 0])                      # expected 12, below min_expected 15
        + series([0] * 9 + [30] * 3 + [0, 0, 0], unit="U2")  # median month of its year is 0
        + series([30] * 5 + [0, 0, 0], unit="U3")[: 8], T)  # fewer than 12 baseline months
    assert [r.status for r in (small, new, short)] == ["not_applicable"] * 3


def test_coverage_uses_the_latest_complete_year_with_enough_persons():
    rows = [("U1", 2024, 0.9, 70), ("U1", 2025, 0.55, 77), ("U1", 2026, 0.9, 80),
            ("U2", 2025, 0.95, 40), ("U2", 2026, 0.2, 40),
            ("U3", 2025, 0.5, 5), ("U4", 2026, 0.5, 30)]
    u1, u2, u3, u4 = coverage(rows, T)
    assert (u1.status, u1.period, u1.observed_value) == ("failed", "2025", 0.55)
    assert (u2.status, u2.period) == ("passed", "2025")  # the running year is not judged
    assert u3.status == "not_applicable"
    assert (u4.status, u4.period) == ("failed", "2026")  # a new unit: only the running year


def test_every_registry_has_a_thresholds_file():
    for contract in REGISTRIES.glob("*.yaml"):
        assert load_thresholds(EXPECTATIONS, contract.stem).registry_id == contract.stem


def test_a_broken_thresholds_file_names_the_file_and_field(tmp_path):
    (tmp_path / "njur.yaml").write_text("registry_id: njur\ncoverage:\n  min_coverage: 7\n")
    with pytest.raises(ThresholdsError, match=r"njur.yaml: coverage.min_coverage"):
        load_thresholds(tmp_path, "njur")
    with pytest.raises(ThresholdsError, match="missing"):
        load_thresholds(tmp_path, "palliativ")
