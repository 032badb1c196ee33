"""The disclosure layer's decision: no hidden count can be derived from what it publishes.

The attacker (attack.py, tested on its own in test_disclosure_attack.py) is the judge: every
scenario is suppressed, released as a reader would see it, and attacked."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from disclosure_scenarios import roll_up, scenario, unit_months
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regbench.config import REPO_ROOT
from regbench.disclosure.attack import attack
from regbench.disclosure.policy import PolicyError, load_policy
from regbench.disclosure.suppression import (
    _release,
    denominator_groups,
    publishable,
    relations,
    suppress,
)

DBT = REPO_ROOT / "dbt_project"
STANDARD = load_policy(DBT)


def _shared(groups: pd.Series) -> list[set[str]]:
    return [set(g.index) for _, g in groups.groupby(groups) if len(g) > 1]


def _attack_release(result, cells: pd.DataFrame) -> pd.DataFrame:
    """The attacker on the release, knowing which indicators share a denominator; no truth."""
    c = result.cells
    released = _release(c, c["num_hidden"].to_numpy(), c["den_hidden"].to_numpy())
    found = attack(released, k=STANDARD.k, shared_denominators=_shared(denominator_groups(c)))
    return found[found["exposed"]]


def _small(cells: pd.DataFrame, k: int = 5) -> np.ndarray:
    n, d = cells["numerator"].to_numpy(), cells["denominator"].to_numpy()
    return ((n >= 1) & (n < k)) | ((d >= 1) & (d < k)) | ((d - n >= 1) & (d - n < k))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), months=st.integers(3, 26), regions=st.integers(1, 6),
       indicators=st.integers(1, 3))
def test_no_hidden_count_can_be_derived_from_the_release(seed, months, regions, indicators):
    cells = scenario(seed, months=months, regions=regions, indicators=indicators)
    result = suppress(cells, STANDARD)
    c = result.cells
    assert result.still_exposed.empty
    # every cell with a small count is hidden, and every statistic of it with it
    assert c.loc[_small(c), "num_hidden"].all()
    assert c.loc[((c["denominator"] >= 1) & (c["denominator"] < 5)).to_numpy(), "den_hidden"].all()
    assert _attack_release(result, cells).empty
    # no published sum has exactly one hidden member
    members = relations(c)
    hidden = c["num_hidden"].to_numpy()[members["cell"]]
    assert not (members.assign(h=hidden).groupby("rel")["h"].sum() == 1).any()


def test_pairwise_complementary_suppression_alone_is_not_enough():
    """What regbench did before: a second cell per region and per country when one was small.
    The attacker undoes it across grains (a quarter minus its published months)."""
    cells = publishable(scenario(7, months=15, regions=4)).reset_index(drop=True)
    small = _small(cells)
    hidden = small.copy()
    for _, grp in cells[cells["level"] == "unit"].groupby(
            ["indicator_id", "period_grain", "period_start", "region_code"]):
        idx = grp.index.to_numpy()
        if hidden[idx].sum() == 1:
            rest = [i for i in grp.sort_values("denominator").index if not hidden[i]]
            if rest:
                hidden[rest[0]] = True
    released = _release(cells, hidden, hidden & ((cells["denominator"] < 5).to_numpy()))
    found = attack(released, k=5)
    assert found["exposed"].sum() > 0
    assert found.loc[found["exposed"], "route"].str.contains("months sum").any()


def test_a_region_of_one_unit_hides_the_region_with_the_unit():
    monthly = pd.DataFrame([
        ("reg", "ind0", "A", "SE-AB", date(2025, 1, 1), 2, 30),
        ("reg", "ind0", "B", "SE-C", date(2025, 1, 1), 20, 40),
        ("reg", "ind0", "C", "SE-C", date(2025, 1, 1), 15, 30),
        ("reg", "ind0", "D", "SE-D", date(2025, 1, 1), 25, 50),
    ], columns=["registry_id", "indicator_id", "unit_id", "region_code", "month", "numerator",
                "denominator"])
    c = suppress(roll_up(monthly), STANDARD).cells
    month = c[c["period_grain"] == "month"].set_index(["level", "region_code", "unit_id"])
    assert month.loc[("unit", "SE-AB", "A"), "reason"] == "primary"
    assert month.loc[("region", "SE-AB", None), "num_hidden"]
    # the country is published, so a second region is hidden with SE-AB
    assert month.xs("region", level="level")["num_hidden"].sum() == 2
    assert not month.loc[("national", None, None), "num_hidden"]


def test_indicators_sharing_a_denominator_hide_it_together():
    cells = scenario(3, months=6, regions=3, indicators=2)
    c = suppress(cells, STANDARD).cells
    groups = denominator_groups(c)
    assert groups["ind1"] == groups["ind0"]
    on = ["level", "unit_id", "region_code", "period_grain", "period_start"]
    both = c[c["indicator_id"] == "ind0"].merge(c[c["indicator_id"] == "ind1"], on=on)
    assert len(both) == (c["indicator_id"] == "ind0").sum()
    assert (both["den_hidden_x"] == both["den_hidden_y"]).all()
    assert both["den_hidden_x"].any()


def test_only_the_latest_rolling_window_is_published():
    cells = scenario(5, months=20, regions=2)
    published = publishable(cells)
    windows = published.loc[published["period_grain"] == "rolling_12m", "period_start"].unique()
    assert list(windows) == [max(cells.loc[cells["period_grain"] == "rolling_12m", "period_start"])]


def test_the_strict_policy_hides_every_denominator_under_15():
    strict = load_policy(DBT, "open_reporting_strict")
    cells = scenario(11, months=8, regions=3)
    c = suppress(cells, strict).cells
    small_den = (c["denominator"] > 0) & (c["denominator"] < 15)
    assert c.loc[small_den, "num_hidden"].all() and c.loc[small_den, "den_hidden"].all()
    mid = (c["denominator"] >= 15) & (c["denominator"] < 45) & (
        (c["numerator"] < 5) | (c["denominator"] - c["numerator"] < 5))
    assert c.loc[mid, "num_hidden"].all()
    standard = suppress(cells, STANDARD).cells
    assert c.loc[(standard["reason"] == "primary").to_numpy(), "num_hidden"].all()
    assert (c["reason"] == "primary").sum() > (standard["reason"] == "primary").sum()


def test_the_policy_file_is_the_one_place_k_is_set():
    assert STANDARD.k == 5 and STANDARD.name == "standard"
    assert "suppression_k:" not in (DBT / "dbt_project.yml").read_text(encoding="utf-8")
    with pytest.raises(PolicyError, match="disclosure_policy.yml.*'nonesuch'"):
        load_policy(DBT, "nonesuch")


def test_unit_months_have_the_hard_shapes():
    m = unit_months(np.random.default_rng(0), months=12, regions=4)
    per_region = m.groupby("region_code")["unit_id"].nunique()
    assert per_region.min() == 1 and per_region.max() >= 4
    assert (m.groupby("unit_id")["month"].nunique() == 1).any()


def test_a_total_published_elsewhere_is_never_taken_for_hidden():
    """A registry's monthly registrations are known from the data-engineering tables: when that
    total is small, the units must still hide each other (one unit with 1, the others 0)."""
    rows = [("reg", "registrations__reg", "unit", u, None, "month", date(2026, 8, 1), 0, n, True,
             False) for u, n in (("A", 1), ("B", 0), ("C", 0))]
    rows.append(("reg", "registrations__reg", "national", None, None, "month", date(2026, 8, 1),
                 0, 1, True, True))
    cells = pd.DataFrame(rows, columns=["registry_id", "indicator_id", "level", "unit_id",
                                        "region_code", "period_grain", "period_start",
                                        "numerator", "denominator", "count_only", "fixed"])
    result = suppress(cells, STANDARD)
    c = result.cells.set_index(["level", "unit_id"])
    assert result.still_exposed.empty
    assert not c.loc[("national", None), "num_hidden"]
    assert c.loc[("unit", "A"), "den_hidden"] and c["den_hidden"].sum() >= 2
    released = _release(result.cells, result.cells["num_hidden"].to_numpy(),
                        result.cells["den_hidden"].to_numpy()).assign(den_min=0.0)
    national = (released["level"] == "national").to_numpy()
    released.loc[national, ["numerator", "denominator", "hidden"]] = [0.0, 1.0, False]  # known
    assert not attack(released, k=5)["exposed"].any()
