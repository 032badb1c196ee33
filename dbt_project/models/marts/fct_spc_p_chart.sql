-- p-chart per unit and indicator over months: centre p̄ = Σy/Σn, limits p̄ ± 3·√(p̄(1−p̄)/n_i)
-- clipped to [0, 1]; a point outside is special-cause variation. Over the published months only
-- (disclosed_indicator_values): a hidden month is not a point and not part of p̄, so neither the
-- centre line nor a limit can be inverted to a hidden count (docs/disclosure.md).
with monthly as (
    select registry_id, indicator_id, unit_id, region_code, period_start, numerator, denominator,
           rate
    from {{ ref('disclosed_indicator_values') }}
    where level = 'unit' and period_grain = 'month' and not suppressed and denominator > 0
),

centre as (
    select indicator_id, unit_id,
           cast(sum(numerator) as double precision) / sum(denominator) as p_bar
    from monthly
    group by 1, 2
)

select
    m.registry_id,
    m.indicator_id,
    m.unit_id,
    m.region_code,
    m.period_start,
    m.numerator,
    m.denominator,
    m.rate,
    c.p_bar as centre,
    greatest(0.0, c.p_bar - 3 * sqrt(c.p_bar * (1 - c.p_bar) / m.denominator)) as lcl,
    least(1.0, c.p_bar + 3 * sqrt(c.p_bar * (1 - c.p_bar) / m.denominator)) as ucl,
    (m.rate < c.p_bar - 3 * sqrt(c.p_bar * (1 - c.p_bar) / m.denominator)
     or m.rate > c.p_bar + 3 * sqrt(c.p_bar * (1 - c.p_bar) / m.denominator)) as special_cause
from monthly as m
inner join centre as c using (indicator_id, unit_id)
