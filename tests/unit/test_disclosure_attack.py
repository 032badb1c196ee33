"""The attacker of the disclosure layer: LP intervals of hidden counts, and which ones it pins.

Tables are built from unit-month counts and summed into regions, the country, quarters, years and
rolling windows, the way the warehouse does (no row for an empty cell). Random tables are checked
against an independent reference: one plain LP over every cell, with the relations written out.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog

from regbench.disclosure import attack as attack_module
from regbench.disclosure.attack import attack, exposed_cells

SPAN = {"month": 1, "quarter": 3, "year": 12, "rolling_12m": 12}


def month(m: int) -> dt.date:
    """Month index m counted from January 2025."""
    return dt.date(2025 + m // 12, m % 12 + 1, 1)


def table(counts: dict, region_of: dict, family: str = "f", grains=("month",),
          levels=("unit", "region", "national"), rolling_start: int = 0) -> pd.DataFrame:
    """Every cell of a family from its unit-month counts {(unit, m): (numerator, denominator)}.
    Aggregates start at the first month of their quarter/year (rolling: `rolling_start` only);
    a cell whose denominator is 0 has no row."""
    months = sorted({m for _, m in counts})
    starts = {
        "month": months,
        "quarter": sorted({m - m % 3 for m in months}),
        "year": sorted({m - m % 12 for m in months}),
        "rolling_12m": [rolling_start],
    }
    entities = []
    for unit, region in region_of.items():
        entities.append(("unit", unit, region, [unit]))
    for region in sorted({r for r in region_of.values() if r}):
        entities.append(("region", None, region, [u for u, r in region_of.items() if r == region]))
    entities.append(("national", None, None, list(region_of)))
    rows = []
    for grain in grains:
        for start in starts[grain]:
            span = range(start, start + SPAN[grain])
            for level, unit, region, units in entities:
                if level not in levels:
                    continue
                num = sum(counts.get((u, m), (0, 0))[0] for u in units for m in span)
                den = sum(counts.get((u, m), (0, 0))[1] for u in units for m in span)
                if den > 0:
                    rows.append(dict(family=family, level=level, unit_id=unit,
                                     region_code=region if level != "national" else None,
                                     period_grain=grain, period_start=month(start),
                                     numerator=num, denominator=den))
    return pd.DataFrame(rows)


def hide(cells: pd.DataFrame, *which: tuple) -> pd.DataFrame:
    """Hide the cells named (family, level, entity, grain, m) (entity: unit or region, None for
    national); returns the release with hidden values blanked."""
    out = cells.copy()
    entity = out["unit_id"].fillna(out["region_code"])
    mask = np.zeros(len(out), dtype=bool)
    for family, level, ent, grain, m in which:
        hit = ((out["family"] == family) & (out["level"] == level) & (out["period_grain"] == grain)
               & (out["period_start"] == month(m)))
        hit &= entity.isna() if ent is None else entity.eq(ent)
        assert hit.sum() == 1, (family, level, ent, grain, m)
        mask |= hit.to_numpy()
    return release(out, mask)


def release(cells: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    out = cells.copy()
    out["numerator"] = np.where(mask, np.nan, out["numerator"].astype(float))
    out["denominator"] = np.where(mask, np.nan, out["denominator"].astype(float))
    out["hidden"] = mask
    return out


def row(result: pd.DataFrame, level: str, ent, grain: str, m: int, family: str = "f") -> pd.Series:
    entity = result["unit_id"].fillna(result["region_code"])
    hit = ((result["family"] == family) & (result["level"] == level) & (result["period_grain"] == grain)
           & (pd.to_datetime(result["period_start"]) == pd.Timestamp(month(m))))
    hit &= entity.isna() if ent is None else entity.eq(ent)
    assert hit.sum() == 1
    return result[hit].iloc[0]


REGION = {"A": "R1", "B": "R1"}


# ---------------------------------------------------------------------------------------------
# Level relations


def test_region_minus_the_other_unit_exposes_the_hidden_unit():
    cells = table({("A", 0): (3, 30), ("B", 0): (10, 40)}, REGION, levels=("unit", "region"))
    result = attack(hide(cells, ("f", "unit", "A", "month", 0)), k=5)
    a = row(result, "unit", "A", "month", 0)
    assert a["exposed"]
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((3, 3))
    assert (a["den_lo"], a["den_hi"]) == pytest.approx((30, 30))
    assert a["route"] == "numerator in [3, 3] from: region R1 month 2025-01 (units sum)"
    assert len(exposed_cells(result)) == 1


def test_two_hidden_units_in_a_region_hide_each_other():
    cells = table({("A", 0): (2, 30), ("B", 0): (40, 50)}, REGION, levels=("unit", "region"))
    released = hide(cells, ("f", "unit", "A", "month", 0), ("f", "unit", "B", "month", 0))
    result = attack(released, k=5, full_bounds=True)
    a = row(result, "unit", "A", "month", 0)
    assert not a["exposed"]
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((0, 42))
    # a row exists, so each denominator is at least 1
    assert (a["den_lo"], a["den_hi"]) == pytest.approx((1, 79))
    assert (a["comp_lo"], a["comp_hi"]) == pytest.approx((0, 38))
    assert a["route"] == "not exposed"
    assert exposed_cells(attack(released, k=5)).empty


def test_a_published_denominator_with_a_hidden_numerator():
    cells = table({("A", 0): (3, 30), ("B", 0): (10, 40)}, REGION, levels=("unit", "region"))
    released = hide(cells, ("f", "unit", "A", "month", 0))
    released.loc[released["hidden"], "denominator"] = 30.0
    a = row(attack(released, k=5), "unit", "A", "month", 0)
    assert a["exposed"] and a["num_lo"] == pytest.approx(3) and a["den_lo"] == pytest.approx(30)


def test_a_small_denominator_the_cell_publishes_itself_is_not_a_leak():
    cells = table({("A", 0): (1, 3), ("B", 0): (10, 40)}, REGION, levels=("unit", "region"))
    released = hide(cells, ("f", "unit", "A", "month", 0), ("f", "unit", "B", "month", 0))
    released["denominator"] = cells["denominator"].astype(float)
    a = row(attack(released, k=5, full_bounds=True), "unit", "A", "month", 0)
    assert (a["den_lo"], a["den_hi"]) == pytest.approx((3, 3))
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((0, 3))
    assert not a["exposed"]


def test_the_country_of_its_regions_and_of_a_unit_without_region():
    region_of = {"A": "R1", "B": "R1", "C": "R2", "D": None}
    counts = {("A", 0): (20, 30), ("B", 0): (25, 40), ("C", 0): (30, 44), ("D", 0): (2, 25)}
    cells = table(counts, region_of)
    released = hide(cells, ("f", "unit", "A", "month", 0), ("f", "unit", "B", "month", 0),
                    ("f", "unit", "D", "month", 0))
    d = row(attack(released, k=5), "unit", "D", "month", 0)
    assert d["exposed"] and (d["num_lo"], d["num_hi"]) == pytest.approx((2, 2))
    assert "national month 2025-01 (regions and units without region sum)" in d["route"]


# ---------------------------------------------------------------------------------------------
# Time relations


def test_a_quarter_and_two_of_its_months_expose_the_third():
    counts = {("A", 0): (20, 30), ("A", 1): (3, 25), ("A", 2): (15, 20)}
    cells = table(counts, {"A": None}, grains=("month", "quarter"), levels=("unit",))
    a = row(attack(hide(cells, ("f", "unit", "A", "month", 1)), k=5), "unit", "A", "month", 1)
    assert a["exposed"]
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((3, 3))
    assert "unit A quarter 2025-Q1 (months sum)" in a["route"]


def test_a_month_without_row_counts_as_zero():
    counts = {("A", 0): (20, 30), ("A", 1): (3, 25)}  # March had no registrations: no row
    cells = table(counts, {"A": None}, grains=("month", "quarter"), levels=("unit",))
    a = row(attack(hide(cells, ("f", "unit", "A", "month", 1)), k=5), "unit", "A", "month", 1)
    assert a["exposed"] and (a["num_lo"], a["num_hi"]) == pytest.approx((3, 3))


def test_a_rolling_window_and_eleven_months_pin_the_twelfth():
    counts = {("A", m): (10 + m, 30 + m) for m in range(14)}
    counts["A", 7] = (3, 20)
    cells = table(counts, {"A": None}, grains=("month", "rolling_12m"), levels=("unit",),
                  rolling_start=2)
    a = row(attack(hide(cells, ("f", "unit", "A", "month", 7)), k=5), "unit", "A", "month", 7)
    assert a["exposed"]
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((3, 3))
    assert (a["den_lo"], a["den_hi"]) == pytest.approx((20, 20))
    assert "unit A rolling_12m 2025-03..2026-02 (months sum)" in a["route"]


def test_a_month_outside_the_rolling_window_is_not_pinned_by_it():
    counts = {("A", m): (10 + m, 30 + m) for m in range(14)}
    cells = table(counts, {"A": None}, grains=("month", "rolling_12m"), levels=("unit",),
                  rolling_start=2)
    released = hide(cells, ("f", "unit", "A", "month", 0), ("f", "unit", "A", "month", 5))
    result = attack(released, k=5, full_bounds=True)
    assert row(result, "unit", "A", "month", 0)["num_hi"] == math.inf
    assert row(result, "unit", "A", "month", 5)["num_lo"] == pytest.approx(15)


# ---------------------------------------------------------------------------------------------
# Combinations only the LP sees


def two_by_two(partners: tuple[tuple[int, int], ...]) -> pd.DataFrame:
    """Units A, B of one region over the months of a quarter; (A, Jan), (A, Feb), (B, Jan),
    (B, Feb) hidden; every total and March published."""
    a_feb, b_jan, b_feb = partners
    counts = {("A", 0): (2, 30), ("A", 1): a_feb, ("A", 2): (20, 31),
              ("B", 0): b_jan, ("B", 1): b_feb, ("B", 2): (22, 33)}
    cells = table(counts, REGION, grains=("month", "quarter"), levels=("unit", "region"))
    return hide(cells, *[("f", "unit", u, "month", m) for u in "AB" for m in (0, 1)])


def test_a_two_by_two_with_large_partners_protects_the_small_cell():
    result = attack(two_by_two(((30, 40), (30, 45), (40, 50))), k=5, full_bounds=True)
    a = row(result, "unit", "A", "month", 0)
    assert not a["exposed"]
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((0, 32))
    assert not result["exposed"].any()


def test_a_two_by_two_with_zero_partners_exposes_the_small_cell():
    # every relation holds two hidden cells, yet B's and Feb's sums are 0 and counts are >= 0
    result = attack(two_by_two(((0, 40), (0, 45), (0, 50))), k=5)
    a = row(result, "unit", "A", "month", 0)
    assert a["exposed"] and (a["num_lo"], a["num_hi"]) == pytest.approx((2, 2))
    assert a["route"].startswith("numerator in [2, 2] from: ")
    assert exposed_cells(result)[["unit_id", "period_start"]].values.tolist() == [["A", month(0)]]


# ---------------------------------------------------------------------------------------------
# Complement and shared denominators


def test_a_large_numerator_with_a_small_complement_is_exposed():
    cells = table({("A", 0): (48, 50), ("B", 0): (52, 60)}, REGION, levels=("unit", "region"))
    a = row(attack(hide(cells, ("f", "unit", "A", "month", 0)), k=5), "unit", "A", "month", 0)
    assert a["exposed"]
    assert (a["comp_lo"], a["comp_hi"]) == pytest.approx((2, 2))
    assert a["route"].startswith("complement in [2, 2] from: region R1 month 2025-01")


def shared_pair() -> pd.DataFrame:
    # family a hides unit A (its denominator is 3); family b, same denominators, publishes it
    cells_a = table({("A", 0): (1, 3), ("B", 0): (40, 50)}, REGION, "a", levels=("unit", "region"))
    cells_b = table({("A", 0): (2, 3), ("B", 0): (30, 50)}, REGION, "b", levels=("unit", "region"))
    released = pd.concat([hide(cells_a, ("a", "unit", "A", "month", 0), ("a", "unit", "B", "month", 0)),
                          release(cells_b, np.zeros(len(cells_b), dtype=bool))], ignore_index=True)
    return released


def test_a_denominator_published_by_a_family_sharing_it_exposes_the_hidden_one():
    alone = row(attack(shared_pair(), k=5), "unit", "A", "month", 0, "a")
    assert not alone["exposed"]
    result = attack(shared_pair(), k=5, shared_denominators=[{"a", "b"}], full_bounds=True)
    a = row(result, "unit", "A", "month", 0, "a")
    assert a["exposed"]
    assert (a["den_lo"], a["den_hi"]) == pytest.approx((3, 3))
    assert (a["num_lo"], a["num_hi"]) == pytest.approx((0, 3))
    assert "denominator published by b (shared denominators)" in a["route"]
    b_unit = row(result, "unit", "B", "month", 0, "a")
    assert not b_unit["exposed"] and b_unit["den_lo"] == pytest.approx(50)


def test_families_sharing_a_hidden_denominator_combine_their_relations():
    # both families hide A's denominator (3); family a's region sum pins it, b's alone does not
    cells_a = table({("A", 0): (1, 3), ("B", 0): (40, 50)}, REGION, "a", levels=("unit", "region"))
    cells_b = table({("A", 0): (2, 3), ("B", 0): (30, 50)}, REGION, "b", levels=("unit", "region"))
    released = pd.concat([hide(cells_a, ("a", "unit", "A", "month", 0)),
                          hide(cells_b, ("b", "unit", "A", "month", 0), ("b", "unit", "B", "month", 0))],
                         ignore_index=True)
    alone = row(attack(released, k=5), "unit", "A", "month", 0, "b")
    assert not alone["exposed"]
    b_a = row(attack(released, k=5, shared_denominators=[{"a", "b"}]), "unit", "A", "month", 0, "b")
    assert b_a["exposed"] and (b_a["den_lo"], b_a["den_hi"]) == pytest.approx((3, 3))
    assert b_a["route"] == ("denominator in [3, 3] from: region R1 month 2025-01 (units sum) "
                            "of the denominators shared by a+b")


# ---------------------------------------------------------------------------------------------
# Interface


def test_progress_truth_and_no_hidden_cells():
    cells = table({("A", 0): (3, 30), ("B", 0): (10, 40), ("A", 1): (2, 30), ("B", 1): (40, 50)},
                  REGION, levels=("unit", "region"))
    released = hide(cells, ("f", "unit", "A", "month", 0), ("f", "unit", "A", "month", 1),
                    ("f", "unit", "B", "month", 1))
    seen = []
    result = attack(released, k=5, truth=cells, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3) and all(d <= t for d, t in seen)
    assert result["exposed"].tolist() == [True, False, False]
    assert attack(release(cells, np.zeros(len(cells), dtype=bool))).empty


def test_truth_saves_linear_programmes_without_changing_the_answer(monkeypatch):
    released, truth = random_release(np.random.default_rng(10), size=4)
    calls = []
    real = attack_module._Solver.minimise

    def counting(self, c, cap=None):
        calls.append(1)
        return real(self, c, cap)

    monkeypatch.setattr(attack_module._Solver, "minimise", counting)
    without = attack(released, k=5)
    n_without = len(calls)
    with_truth = attack(released, k=5, truth=truth)
    assert len(calls) - n_without < n_without
    assert with_truth["exposed"].tolist() == without["exposed"].tolist()


def test_true_values_that_break_the_sums_prove_nothing():
    released = two_by_two(((0, 40), (0, 45), (0, 50)))
    wrong = released.assign(numerator=released["numerator"].fillna(0.0),
                            denominator=released["denominator"].fillna(40.0))
    a = row(attack(released, k=5, truth=wrong), "unit", "A", "month", 0)
    assert a["exposed"] and a["num_lo"] == pytest.approx(2)


def test_duplicate_cells_are_refused():
    cells = table({("A", 0): (3, 30)}, {"A": None}, levels=("unit",))
    with pytest.raises(ValueError, match="duplicate"):
        attack(release(pd.concat([cells, cells]), np.array([True, False])))


# ---------------------------------------------------------------------------------------------
# Random tables against a reference LP


def random_release(rng: np.random.Generator, size: int = 3, shared: bool = False):
    """A random family pair's table and a random release of it: (release, truth)."""
    n_units = int(rng.integers(2, size + 1))
    regions = ["R1", "R2", None][: int(rng.integers(1, 4))]
    region_of = {f"U{i}": regions[int(rng.integers(len(regions)))] for i in range(n_units)}
    n_months = int(rng.integers(3, 15))
    grains = ("month",) + tuple(g for g in ("quarter", "year", "rolling_12m") if rng.random() < 0.5)
    families = ["a", "b"] if shared else ["a"]
    dens = {(u, m): int(rng.integers(0, 12)) * int(rng.random() < 0.8)
            for u in region_of for m in range(n_months)}
    frames = []
    for family in families:
        counts = {key: (int(rng.integers(0, d + 1)), d) for key, d in dens.items() if d}
        frames.append(table(counts, region_of, family, grains, rolling_start=max(n_months - 12, 0)))
    truth = pd.concat(frames, ignore_index=True)
    mask = rng.random(len(truth)) < rng.uniform(0.2, 0.7)
    return release(truth, mask), truth


def reference_relations(cells: pd.DataFrame) -> list[tuple[int, list[int]]]:
    """(total row, part rows) of every sum, written out plainly; absent parts are zero."""
    entity = cells["unit_id"].fillna(cells["region_code"]).fillna("").tolist()
    m = [(d.year - 2025) * 12 + d.month - 1 for d in pd.to_datetime(cells["period_start"])]
    index = {(f, lv, e, g, mm): i for i, (f, lv, e, g, mm) in enumerate(
        zip(cells["family"], cells["level"], entity, cells["period_grain"], m, strict=True))}
    family, grain_of, region_of = (cells[c].tolist() for c in ("family", "period_grain", "region_code"))
    units = [u for u in range(len(cells)) if cells["level"].iat[u] == "unit"]
    relations = []
    for (fam, level, ent, grain, start), i in index.items():
        if grain != "month":
            parts = [index.get((fam, level, ent, "month", mm)) for mm in range(start, start + SPAN[grain])]
            relations.append((i, [p for p in parts if p is not None]))
        if level != "unit":
            relations.append((i, [u for u in units if family[u] == fam and grain_of[u] == grain
                                  and m[u] == start and (level == "national" or region_of[u] == ent)]))
    return relations


def reference_bounds(released: pd.DataFrame, shared: bool, cells: np.ndarray) -> pd.DataFrame:
    """min and max of the counts of rows `cells` in one LP over all cells' n and d."""
    n = len(released)
    equations = []  # {variable: coefficient} = 0; variable i: numerator of row i, n + i: denominator
    for total, parts in reference_relations(released):
        for offset in (0, n):
            equations.append({total + offset: 1, **{p + offset: -1 for p in parts}})
    if shared:
        key = released[["level", "unit_id", "region_code", "period_grain", "period_start"]]
        same = key.fillna("").astype(str).agg("|".join, axis=1)
        for rows in released.groupby(same.to_numpy()).groups.values():
            equations += [{n + i: 1, n + j: -1} for i, j in zip(rows[:-1], rows[1:], strict=True)]
    a_eq = sparse.lil_matrix((len(equations), 2 * n))
    for r, equation in enumerate(equations):
        for j, coef in equation.items():
            a_eq[r, j] = coef
    a_ub = sparse.hstack([sparse.identity(n), -sparse.identity(n)]).tocsr()  # n <= d
    values = np.r_[released["numerator"].to_numpy(float), released["denominator"].to_numpy(float)]
    # an unknown denominator is at least 1: the row exists
    low = np.nan_to_num(values)
    low[n:] = np.where(np.isnan(values[n:]), 1.0, low[n:])
    bounds = np.column_stack([low, np.where(np.isnan(values), np.inf, values)])
    problem = dict(A_ub=a_ub, b_ub=np.zeros(n), A_eq=a_eq.tocsr(), b_eq=np.zeros(len(equations)),
                   bounds=bounds, method="highs")
    out = []
    for i in cells:
        found = {}
        for name, count in (("num", {i: 1}), ("den", {n + i: 1}), ("comp", {n + i: 1, i: -1})):
            c = np.zeros(2 * n)
            c[list(count)] = list(count.values())
            lo, hi = linprog(c, **problem), linprog(-c, **problem)
            assert lo.status == 0
            found[f"{name}_lo"] = lo.fun
            found[f"{name}_hi"] = math.inf if hi.status == 3 else -hi.fun
        out.append(found)
    return pd.DataFrame(out)


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_match_the_reference_and_contain_the_truth(seed):
    rng = np.random.default_rng(seed)
    shared = seed % 2 == 1
    released, truth = random_release(rng, shared=shared)
    groups = [{"a", "b"}] if shared else None
    result = attack(released, k=5, shared_denominators=groups, full_bounds=True)
    hidden = released["hidden"].to_numpy()
    assert len(result) == hidden.sum()

    # sound: the true counts lie in their intervals
    t = truth[hidden].reset_index(drop=True)
    true = {"num": t["numerator"], "den": t["denominator"], "comp": t["denominator"] - t["numerator"]}
    for name, v in true.items():
        assert (result[f"{name}_lo"] <= v + 1e-6).all() and (v - 1e-6 <= result[f"{name}_hi"]).all()

    # exact: as tight as the plain LP over everything (on a sample of the hidden cells, for time)
    sample = np.sort(rng.permutation(int(hidden.sum()))[:10])
    ref = reference_bounds(released, shared, np.flatnonzero(hidden)[sample])
    for column in ref:
        np.testing.assert_allclose(result[column].to_numpy(float)[sample], ref[column].to_numpy(float),
                                   atol=1e-6, err_msg=column)

    # a sum with one hidden member determines it
    position = np.cumsum(hidden) - 1
    for total, parts in reference_relations(released):
        members = [total, *parts]
        lonely = [p for p in members if hidden[p]]
        if len(lonely) == 1:
            r = result.iloc[position[lonely[0]]]
            assert r["num_lo"] == pytest.approx(r["num_hi"], abs=1e-6)
            assert r["den_lo"] == pytest.approx(r["den_hi"], abs=1e-6)

    # the shortcuts (early exits, feasible points, truth) decide exactly as the full bounds do
    expected = ((result[["num_lo", "den_lo", "comp_lo"]].to_numpy() >= 1 - 1e-6)
                & (result[["num_hi", "den_hi", "comp_hi"]].to_numpy() <= 4 + 1e-6)).any(axis=1)
    assert result["exposed"].tolist() == expected.tolist()
    for kwargs in ({}, {"truth": truth}):
        quick = attack(released, k=5, shared_denominators=groups, **kwargs)
        assert quick["exposed"].tolist() == expected.tolist()
