"""The statistical tables the marts read (dbt_project/seeds, written by
dbt_project/seeds/generate_stat_tables.py) against scipy, and the closed forms the marts use
beside them (fct_spc_run_chart, fct_casemix; docs/decisions/0019):

- Anhøj's run-chart thresholds for any number of useful points n (qicharts2): a longest run above
  round(log2(n) + 3) or fewer crossings than the 5th percentile of Binomial(n − 1, 0.5) signals
  non-random variation. The mart computes both in closed form (the crossings by the normal
  approximation with continuity correction) and takes the exact values from the seed for the n
  where that approximation is wrong or too close to a rounding boundary to trust: exact for
  every n up to 1 000 000.
- Exact (Garwood) 95 % Poisson limits for an observed count O = 0..1000, for O/E; beyond the
  table the mart uses the Wilson–Hilferty (Byar) approximation.
"""

import csv
import math

import numpy as np
import pytest
from scipy import stats

from regbench.config import REPO_ROOT

SEEDS = REPO_ROOT / "dbt_project" / "seeds"
Z05 = stats.norm.ppf(0.05)
Z95 = stats.norm.ppf(0.975)
ANHOEJ_EXACT_UP_TO = 1_000_000
POISSON_UP_TO = 1000


def _rows(name):
    return list(csv.DictReader((SEEDS / name).open(encoding="utf-8")))


@pytest.fixture(scope="module")
def exceptions():
    return {int(r["n_useful"]): (int(r["longest_run_max"]), int(r["crossings_min"]))
            for r in _rows("anhoej_exceptions.csv")}


def closed_form(n):
    """What fct_spc_run_chart computes, in the same order of operations."""
    n = np.asarray(n, dtype=float)
    m = n - 1
    longest = np.round(np.log(n) / np.log(2.0) + 3)
    crossings = np.ceil(m / 2 + Z05 * np.sqrt(m) / 2 - 0.5)
    return longest.astype(int), crossings.astype(int)


def thresholds(n, exceptions):
    longest, crossings = closed_form(n)
    for i, k in enumerate(np.asarray(n)):
        if int(k) in exceptions:
            longest[i], crossings[i] = exceptions[int(k)]
    return longest, crossings


def exact(n):
    n = np.asarray(n)
    longest = np.array([round(math.log2(int(k)) + 3) for k in n])
    return longest, stats.binom.ppf(0.05, n - 1, 0.5).astype(int)


def test_anhoej_thresholds_are_exact_for_every_length_up_to_20000(exceptions):
    n = np.arange(1, 20_001)
    got_longest, got_crossings = thresholds(n, exceptions)
    want_longest, want_crossings = exact(n)
    assert (got_longest == want_longest).all()
    assert (got_crossings == want_crossings).all()
    # the lengths issue 20 names: 300 was the old seed's last row, 301 its first NULL
    for k, (runs, crossings) in {10: (6, 2), 300: (11, 135), 301: (11, 136), 1000: (13, 474)}.items():
        assert (got_longest[k - 1], got_crossings[k - 1]) == (runs, crossings)


def test_anhoej_thresholds_are_exact_on_a_sample_up_to_a_million(exceptions):
    rng = np.random.default_rng(20)
    n = np.unique(np.concatenate([rng.integers(20_001, ANHOEJ_EXACT_UP_TO + 1, 3000),
                                  [k for k in exceptions if k > 20_000], [ANHOEJ_EXACT_UP_TO]]))
    got = thresholds(n, exceptions)
    want = exact(n)
    assert (got[0] == want[0]).all() and (got[1] == want[1]).all()


def test_anhoej_exceptions_are_exact_and_needed(exceptions):
    n = np.array(sorted(exceptions))
    assert n.min() >= 1 and n.max() <= ANHOEJ_EXACT_UP_TO
    want_longest, want_crossings = exact(n)
    assert [exceptions[int(k)] for k in n] == list(zip(want_longest, want_crossings, strict=True))
    # the normal approximation is not exact: it is wrong at n = 31, 38, 180, ... (docs/decisions/0019)
    _, approx = closed_form(n)
    assert {31, 38, 180, 214, 507} <= set(n[approx != want_crossings])


def test_poisson_limits_are_scipys_exact_limits():
    rows = _rows("poisson_limits.csv")
    observed = [int(r["observed"]) for r in rows]
    assert observed == list(range(POISSON_UP_TO + 1))
    for r in rows:
        o = int(r["observed"])
        lower = 0.0 if o == 0 else stats.chi2.ppf(0.025, 2 * o) / 2
        upper = stats.chi2.ppf(0.975, 2 * o + 2) / 2
        assert float(r["lower_95"]) == pytest.approx(lower, rel=1e-15, abs=0)
        assert float(r["upper_95"]) == pytest.approx(upper, rel=1e-15, abs=0)
    assert float(rows[0]["lower_95"]) == 0.0
    assert float(rows[1]["lower_95"]) == pytest.approx(0.025317807984289876, rel=1e-15)
    assert float(rows[0]["upper_95"]) == pytest.approx(3.6888794541139354, rel=1e-15)


def test_wilson_hilferty_beyond_the_table_is_within_its_documented_error():
    """Beyond O = 1000 the mart falls back to Byar's (Wilson–Hilferty) formula: its relative error
    against the exact limit is under 6e-7 there and shrinks as O grows (docs/decisions/0019); at
    O = 1 it would have been 48 % (issue 22)."""
    o = np.arange(POISSON_UP_TO + 1, 20_001, dtype=float)
    exact_low = stats.chi2.ppf(0.025, 2 * o) / 2
    exact_high = stats.chi2.ppf(0.975, 2 * o + 2) / 2
    byar_low = o * (1 - 1 / (9 * o) - Z95 / (3 * np.sqrt(o))) ** 3
    byar_high = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * np.sqrt(o + 1))) ** 3
    assert np.max(np.abs(byar_low / exact_low - 1)) < 6e-7
    assert np.max(np.abs(byar_high / exact_high - 1)) < 6e-7
