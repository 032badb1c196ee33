-- Control-limit curves a chart can draw: for every denominator from 1 to the largest unit's.
{% set z95 = 1.959964 %}
{% set z998 = 3.090232 %}
with periods as (
    select
        registry_id, indicator_id, period_grain, period_start, theta0, tau2,
        max(denominator) as max_n
    from {{ ref('fct_funnel') }}
    group by 1, 2, 3, 4, 5, 6
),

grid as (
    select p.*, cast(g.n as bigint) as denominator
    from periods as p
    inner join (select * from generate_series(1, 100000) as s(n)) as g on g.n <= p.max_n
)

select
    registry_id, indicator_id, period_grain, period_start, denominator, theta0, tau2,
    greatest(0.0, theta0 - {{ z95 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as lower_95,
    least(1.0, theta0 + {{ z95 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as upper_95,
    greatest(0.0, theta0 - {{ z998 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as lower_998,
    least(1.0, theta0 + {{ z998 }} * sqrt(theta0 * (1 - theta0) / denominator + tau2)) as upper_998
from grid
