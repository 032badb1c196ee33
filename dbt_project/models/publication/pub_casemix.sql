-- Observed / expected (age band × sex) per unit and year. O and the patients are the indicator's
-- numerator and denominator for the unit and year, so they are shown exactly when the disclosure
-- layer publishes that cell (and equal what it publishes); E and O/E are computed from O, so they
-- are hidden with it, and in a year whose national count is hidden (the units' E add up to it);
-- strata with few national deaths share a rate in fct_casemix (docs/disclosure.md).
with c as (
    select
        c.*,
        coalesce(d.suppressed or c.observed <> d.numerator, true) as hidden,
        coalesce(d.denominator_suppressed or c.patients <> d.denominator, true) as patients_hidden,
        -- the sum of E over all units is the national number of deaths: no E where that is hidden
        coalesce(n.suppressed, true) as national_hidden
    from {{ ref('fct_casemix') }} as c
    left join {{ ref('disclosed_indicator_values') }} as d
        on d.indicator_id = c.indicator_id and d.level = 'unit' and d.unit_id = c.unit_id
        and d.period_grain = 'year' and d.period_start = c.period_start
    left join {{ ref('disclosed_indicator_values') }} as n
        on n.indicator_id = c.indicator_id and n.level = 'national'
        and n.period_grain = 'year' and n.period_start = c.period_start
)

select
    cast(c.registry_id as varchar(32)) as registry_id,
    cast(c.indicator_id as varchar(64)) as indicator_id,
    cast(c.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    c.period_start,
    case when c.patients_hidden then null else c.patients end as patients,
    case when c.hidden then null else c.observed end as observed,
    case when c.hidden or c.national_hidden then null else c.expected end as expected,
    case when c.hidden or c.national_hidden then null else c.oe_ratio end as oe_ratio,
    case when c.hidden or c.national_hidden then null else c.oe_low end as oe_low,
    case when c.hidden or c.national_hidden then null else c.oe_high end as oe_high,
    c.hidden as suppressed
from c
left join {{ ref('dim_unit') }} as u on u.unit_id = c.unit_id and u.registry_id = c.registry_id
