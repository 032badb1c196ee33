"""Indicator tables made to be hard to protect: many small units, units with a single month, a
region of one large and one small unit, a region of one unit, complementary pairs (a numerator
one below its denominator), indicators that share a denominator. The counts are built per unit
and month and rolled up exactly as fct_indicator_values does."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

KEYS = ["registry_id", "indicator_id", "level", "unit_id", "region_code", "period_grain",
        "period_start"]


def _month(m: int) -> date:
    return date(2024 + m // 12, m % 12 + 1, 1)


def unit_months(rng: np.random.Generator, months: int = 15, regions: int = 4,
                indicators: int = 2) -> pd.DataFrame:
    """(indicator, unit, region, month) -> numerator, denominator; no row for an empty month."""
    units = []
    for r in range(regions):
        kind = r % 4
        if kind == 0:  # one large and one small unit
            units += [(f"R{r}U0", f"SE-{r}", 40), (f"R{r}U1", f"SE-{r}", 2)]
        elif kind == 1:  # a region of one unit
            units += [(f"R{r}U0", f"SE-{r}", int(rng.integers(3, 12)))]
        else:  # many small units, one of them with a single month
            units += [(f"R{r}U{u}", f"SE-{r}", int(rng.integers(1, 8))) for u in range(4)]
    single = {units[-1][0]}
    rows = []
    for unit, region, size in units:
        for m in range(months):
            if unit in single and m != months // 2:
                continue
            den = int(rng.integers(1, 4)) if unit in single else int(rng.poisson(size))
            if den == 0:
                continue
            shared_met = rng.random(den)
            for i in range(indicators):
                if i % 2 == 0:
                    p = 0.5 if rng.random() < 0.7 else 0.97  # complementary pairs
                    num = int((shared_met < p).sum())
                    d = den
                else:  # shares indicator 0's denominator, its own numerator
                    num, d = int(rng.binomial(den, 0.3)), den
                rows.append(("reg", f"ind{i}", unit, region, _month(m), num, d))
    return pd.DataFrame(rows, columns=["registry_id", "indicator_id", "unit_id", "region_code",
                                       "month", "numerator", "denominator"])


def roll_up(monthly: pd.DataFrame) -> pd.DataFrame:
    """Every level (unit, region, national) and grain (month, quarter, year, every rolling 12
    months that the history covers), as the marts hold them."""
    m = monthly.copy()
    m["month"] = pd.to_datetime(m["month"])
    levels = [
        m.assign(level="unit"),
        m.groupby(["registry_id", "indicator_id", "region_code", "month"], as_index=False)
         [["numerator", "denominator"]].sum().assign(level="region", unit_id=None),
        m.groupby(["registry_id", "indicator_id", "month"], as_index=False)
         [["numerator", "denominator"]].sum().assign(level="national", unit_id=None,
                                                     region_code=None),
    ]
    base = pd.concat(levels, ignore_index=True)
    series = ["registry_id", "indicator_id", "level", "unit_id", "region_code"]
    key = base[series].astype(object).fillna("")
    base["_series"] = key.agg("|".join, axis=1)
    out = [base.assign(period_grain="month", period_start=base["month"])]
    for grain, freq in (("quarter", "QS"), ("year", "YS")):
        start = base["month"].dt.to_period(freq[0]).dt.start_time
        agg = base.assign(period_start=start).groupby(["_series", "period_start"], as_index=False)[
            ["numerator", "denominator"]].sum()
        out.append(agg.merge(base.drop_duplicates("_series")[["_series"] + series], on="_series")
                   .assign(period_grain=grain))
    first, last = base["month"].min(), base["month"].max()
    for start in pd.date_range(first, last - pd.DateOffset(months=11), freq="MS"):
        window = base[(base["month"] >= start) & (base["month"] < start + pd.DateOffset(months=12))]
        agg = window.groupby("_series", as_index=False)[["numerator", "denominator"]].sum()
        out.append(agg.merge(base.drop_duplicates("_series")[["_series"] + series], on="_series")
                   .assign(period_grain="rolling_12m", period_start=start))
    cells = pd.concat(out, ignore_index=True)
    cells["period_start"] = pd.to_datetime(cells["period_start"]).dt.date
    cells = cells[cells["denominator"] > 0]
    return cells[KEYS + ["numerator", "denominator"]].reset_index(drop=True)


def scenario(seed: int, **kwargs) -> pd.DataFrame:
    return roll_up(unit_months(np.random.default_rng(seed), **kwargs))
