-- Rankability per indicator and period (year and rolling 12 months): the share of the variation
-- between units that is not chance (Lingsma et al. 2010; decision 0022):
--   ρ = τ² / (τ² + median s_i²)
-- τ² is the funnel's between-unit variance (fct_funnel: additive random effects on the
-- proportion scale, winsorised φ, DerSimonian–Laird style moment estimate) and s_i² its
-- within-unit sampling variance on the same scale, θ₀(1 − θ₀)/n_i. With τ² = 0 (no spread beyond
-- chance, or a single unit) ρ is 0: the units cannot be ranked.
-- From the funnel's units only, which are the published cells (disclosed_indicator_values): ρ is
-- a function of the published n_i, θ₀ and τ², so it gives nothing back that pub_funnel does not
-- (docs/disclosure.md).
-- `rankable` at ρ ≥ var('rankability_threshold'), 0.5 unless set on the command line; it is set
-- here only, and read from text as normal_quantile does (DuckDB reads a decimal literal as a
-- DECIMAL first, which can round a double twice).
{% set threshold = var('rankability_threshold', 0.5) %}
with units as (
    select
        registry_id, indicator_id, period_grain, period_start, theta0, tau2, n_units,
        theta0 * (1 - theta0) / denominator as s2
    from {{ ref('fct_funnel') }}
),

periods as (
    select
        registry_id, indicator_id, period_grain, period_start, theta0, tau2, n_units,
        percentile_cont(0.5) within group (order by s2) as median_s2
    from units
    group by 1, 2, 3, 4, 5, 6, 7
)

select
    registry_id,
    indicator_id,
    cast(period_grain as varchar(12)) as period_grain,
    period_start,
    cast(n_units as bigint) as n_units,
    cast(theta0 as double precision) as theta0,
    cast(tau2 as double precision) as tau2,
    cast(median_s2 as double precision) as median_s2,
    cast(tau2 / (tau2 + median_s2) as double precision) as rankability,
    tau2 / (tau2 + median_s2) >= cast('{{ threshold }}' as double precision) as rankable,
    cast('{{ threshold }}' as double precision) as rankability_threshold,
    cast(current_timestamp as timestamp) as _built_at
from periods
