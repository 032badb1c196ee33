-- Observed / expected (age band × sex) per unit and year; small observed counts suppressed.
select
    cast(c.registry_id as varchar(32)) as registry_id,
    cast(c.indicator_id as varchar(64)) as indicator_id,
    cast(c.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    c.period_start,
    case when c.patients between 1 and {{ var('suppression_k') - 1 }} then null else c.patients end
        as patients,
    case when {{ small_cell('c.observed', 'c.patients') }} then null else c.observed end as observed,
    case when {{ small_cell('c.observed', 'c.patients') }} then null else c.expected end as expected,
    case when {{ small_cell('c.observed', 'c.patients') }} then null else c.oe_ratio end as oe_ratio,
    case when {{ small_cell('c.observed', 'c.patients') }} then null else c.oe_low end as oe_low,
    case when {{ small_cell('c.observed', 'c.patients') }} then null else c.oe_high end as oe_high,
    {{ small_cell('c.observed', 'c.patients') }} as suppressed
from {{ ref('fct_casemix') }} as c
left join {{ ref('dim_unit') }} as u on u.unit_id = c.unit_id and u.registry_id = c.registry_id
