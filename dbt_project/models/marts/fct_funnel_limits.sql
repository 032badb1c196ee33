-- Control-limit curves a chart can draw, from denominator 1 to the largest unit's: every
-- denominator up to 200, then steps of 2 % (the curves are smooth there), and the largest itself.
-- One row per denominator made this table 3 M rows at 1 M registrations; the grid keeps it to a
-- few hundred per indicator and period at any volume. The grid does not depend on any unit's
-- own denominator but the largest (which is published).
{% set z95 = normal_quantile('0.975') %}
{% set z998 = normal_quantile('0.999') %}
with periods as (
    select
        registry_id, indicator_id, period_grain, period_start, theta0, tau2,
        max(denominator) as max_n
    from {{ ref('fct_funnel') }}
    group by 1, 2, 3, 4, 5, 6
),

steps as (
    select cast(s.n as bigint) as n from generate_series(1, 200) as s(n)
    union
    select cast(round(200 * power(1.02, s.k)) as bigint) from generate_series(1, 500) as s(k)
),

-- union all, not union: deduplicating 1.9 M rows at 30 years of history cost PostgreSQL seconds
grid as (
    select p.*, st.n as denominator
    from periods as p
    inner join steps as st on st.n < p.max_n
    union all
    select p.*, p.max_n as denominator
    from periods as p
)

select
    registry_id, indicator_id, period_grain, period_start, denominator, theta0, tau2,
    greatest(0.0, theta0 - {{ z95 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as lower_95,
    least(1.0, theta0 + {{ z95 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as upper_95,
    greatest(0.0, theta0 - {{ z998 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as lower_998,
    least(1.0, theta0 + {{ z998 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as upper_998,
    cast(current_timestamp as timestamp) as _built_at
from grid
