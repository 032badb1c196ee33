"""The pooling rule of docs/disclosure.md, written again in pandas for the tests: a stratum with
1..k-1 national deaths has no rate of its own; it pools its age band, and an age band whose pool
still holds 1..k-1 deaths pools the whole year."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pooled_rates(strata: pd.DataFrame, keys: list[str], k: int = 5) -> pd.DataFrame:
    """`strata`: rows with keys, age_band, sex, died, patients (any grain below the country);
    returns keys, age_band, sex and the national rate each stratum's patients get."""
    nat = strata.groupby([*keys, "age_band", "sex"], as_index=False)[["died", "patients"]].sum()
    small = nat["died"].between(1, k - 1)
    band_small = small.groupby([nat[c] for c in [*keys, "age_band"]]).transform("max")
    band_died = nat.groupby([*keys, "age_band"])["died"].transform("sum")
    year_small = (band_small & band_died.between(1, k - 1)).groupby(
        [nat[c] for c in keys]).transform("max")
    nat["pool"] = np.where(year_small, "*",
                           np.where(band_small, nat["age_band"], nat["age_band"] + " " + nat["sex"]))
    pooled = nat.groupby([*keys, "pool"])
    nat["rate"] = pooled["died"].transform("sum") / pooled["patients"].transform("sum")
    return nat[[*keys, "age_band", "sex", "rate", "pool"]]
