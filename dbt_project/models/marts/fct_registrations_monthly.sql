-- Registrations per unit and month (by event month), against the unit's own trailing 12-month
-- median, with timeliness (median and 90th percentile days from event to registration).
with monthly as (
    select m.registry_id, m.unit_id, u.region_code, m.month_start as period_start, m.registrations,
           m.lag_median_days, m.lag_p90_days
    from {{ ref('int_registrations_monthly') }} as m
    left join {{ ref('units') }} as u on u.unit_id = m.unit_id and u.registry_id = m.registry_id
),

calendar as (
    select distinct registry_id, period_start from monthly
),

dense as (
    select c.registry_id, u.unit_id, u.region_code, c.period_start,
           coalesce(m.registrations, 0) as registrations,
           m.lag_median_days, m.lag_p90_days
    from calendar as c
    inner join (select distinct registry_id, unit_id, region_code from monthly) as u
        on u.registry_id = c.registry_id
    left join monthly as m
        on m.registry_id = c.registry_id and m.unit_id = u.unit_id
        and m.period_start = c.period_start
),

history as (
    select
        d.*,
        (select percentile_cont(0.5) within group (order by h.registrations)
         from dense as h
         where h.registry_id = d.registry_id and h.unit_id = d.unit_id
           and h.period_start < d.period_start
           and h.period_start >= {{ dbt.dateadd('month', -12, 'd.period_start') }}) as trailing_12m_median
    from dense as d
)

select
    registry_id,
    unit_id,
    region_code,
    period_start,
    cast(registrations as bigint) as registrations,
    cast(trailing_12m_median as double precision) as trailing_12m_median,
    cast(case when trailing_12m_median > 0 then registrations / trailing_12m_median end
        as double precision) as ratio_to_median,
    cast(lag_median_days as double precision) as lag_median_days,
    cast(lag_p90_days as double precision) as lag_p90_days
from history
