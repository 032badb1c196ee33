"""The Anhøj threshold seed equals what scipy computes (qicharts2's rules)."""

import csv
import math

from scipy import stats

from regbench.config import REPO_ROOT


def test_anhoej_thresholds_match_scipy():
    path = REPO_ROOT / "dbt_project" / "seeds" / "anhoej_thresholds.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) >= 100
    for r in rows:
        n = int(r["n_useful"])
        assert int(r["longest_run_max"]) == round(math.log2(n) + 3)
        assert int(r["crossings_min"]) == int(stats.binom.ppf(0.05, n - 1, 0.5))
