-- Funnel plot per indicator and period (year and rolling 12 months), Spiegelhalter (2005):
-- target θ₀ = the national rate; limits at 95 % and 99.8 %, widened for overdispersion when the
-- winsorised (10th/90th percentile) z-scores show more spread than chance (DOMAIN.md).
-- From the published cells only (disclosed_indicator_values): a hidden unit is neither a point
-- nor part of θ₀, φ or τ², so nothing here is computed from a hidden count (docs/disclosure.md).
{% set z95 = normal_quantile('0.975') %}
{% set z998 = normal_quantile('0.999') %}
with units as (
    select
        u.registry_id, u.indicator_id, u.period_grain, u.period_start, u.unit_id, u.region_code,
        u.numerator, u.denominator, u.rate,
        n.rate as theta0
    from {{ ref('disclosed_indicator_values') }} as u
    inner join {{ ref('disclosed_indicator_values') }} as n
        on n.indicator_id = u.indicator_id and n.period_grain = u.period_grain
        and n.period_start = u.period_start and n.level = 'national'
    where u.level = 'unit' and u.period_grain in ('year', 'rolling_12m')
        and not u.suppressed and not n.suppressed and u.denominator > 0
        and n.rate > 0 and n.rate < 1
),

scored as (
    select
        *,
        theta0 * (1 - theta0) / denominator as s2,
        (rate - theta0) / sqrt(theta0 * (1 - theta0) / denominator) as z
    from units
),

bounds as (
    select
        indicator_id, period_grain, period_start,
        percentile_cont(0.1) within group (order by z) as z_p10,
        percentile_cont(0.9) within group (order by z) as z_p90
    from scored
    group by 1, 2, 3
),

dispersion as (
    select
        s.indicator_id, s.period_grain, s.period_start,
        count(*) as n_units,
        avg(power(least(greatest(s.z, b.z_p10), b.z_p90), 2)) as phi,
        sum(1 / s.s2) as sum_w,
        sum(power(1 / s.s2, 2)) as sum_w2
    from scored as s
    inner join bounds as b using (indicator_id, period_grain, period_start)
    group by 1, 2, 3
),

tau as (
    select
        *,
        case when n_units * phi > n_units - 1 and n_units > 1
            then (n_units * phi - (n_units - 1)) / (sum_w - sum_w2 / sum_w)
            else 0
        end as tau2
    from dispersion
)

select
    s.registry_id,
    s.indicator_id,
    cast(s.period_grain as varchar(12)) as period_grain,
    s.period_start,
    s.unit_id,
    s.region_code,
    s.numerator,
    s.denominator,
    s.rate,
    s.theta0,
    t.n_units,
    t.phi,
    t.tau2,
    s.z,
    (s.rate - s.theta0) / sqrt(s.s2 + t.tau2) as z_adjusted,
    greatest(0.0, s.theta0 - {{ z95 }} * sqrt(s.s2 + t.tau2)) as lower_95,
    least(1.0, s.theta0 + {{ z95 }} * sqrt(s.s2 + t.tau2)) as upper_95,
    greatest(0.0, s.theta0 - {{ z998 }} * sqrt(s.s2 + t.tau2)) as lower_998,
    least(1.0, s.theta0 + {{ z998 }} * sqrt(s.s2 + t.tau2)) as upper_998,
    cast(case
        when abs(s.rate - s.theta0) > {{ z998 }} * sqrt(s.s2 + t.tau2) then 'alarm'
        when abs(s.rate - s.theta0) > {{ z95 }} * sqrt(s.s2 + t.tau2) then 'alert'
        else 'none'
    end as varchar(8)) as outlier_flag,
    cast(current_timestamp as timestamp) as _built_at
from scored as s
inner join tau as t using (indicator_id, period_grain, period_start)
