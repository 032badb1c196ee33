-- Registrations per unit and month (by event month), against the unit's own trailing 12-month
-- median, with timeliness (median and 90th percentile days from event to registration).
-- Built from unions and GROUP BYs instead of joins on (registry, unit, month): PostgreSQL has no
-- statistics for CTEs, joined on two keys with the month as a filter, and the model grew with the
-- square of the history (170 s at 30 years of months, decision 0015).
with monthly as (
    select m.registry_id, m.unit_id, u.region_code, m.month_start as period_start, m.registrations,
           m.lag_median_days, m.lag_p90_days
    from {{ ref('int_registrations_monthly') }} as m
    left join {{ ref('units') }} as u on u.unit_id = m.unit_id and u.registry_id = m.registry_id
),

calendar as (
    select distinct registry_id, period_start from monthly
),

registry_units as (
    select distinct registry_id, unit_id, region_code from monthly
),

-- every unit of a registry in every month the registry has registrations, 0 where it had none
dense as (
    select registry_id, unit_id, max(region_code) as region_code, period_start,
           sum(registrations) as registrations,
           max(lag_median_days) as lag_median_days, max(lag_p90_days) as lag_p90_days
    from (
        select registry_id, unit_id, region_code, period_start, registrations,
               lag_median_days, lag_p90_days
        from monthly
        union all
        select c.registry_id, u.unit_id, u.region_code, c.period_start, cast(0 as bigint),
               cast(null as double precision), cast(null as double precision)
        from calendar as c
        inner join registry_units as u on u.registry_id = c.registry_id
    ) as rows_and_zeros
    group by registry_id, unit_id, period_start
),

-- each month's count, carried to the twelve months after it
carried as (
    select d.registry_id, d.unit_id,
           cast({{ dbt.dateadd('month', 'o.k', 'd.period_start') }} as date) as period_start,
           d.registrations
    from dense as d
    cross join (select cast(s.k as integer) as k from generate_series(1, 12) as s(k)) as o
),

trailing_median as (
    select registry_id, unit_id, period_start,
           percentile_cont(0.5) within group (order by registrations) as trailing_12m_median
    from carried
    group by registry_id, unit_id, period_start
),

history as (
    select registry_id, unit_id, max(region_code) as region_code, period_start,
           max(registrations) as registrations, max(trailing_12m_median) as trailing_12m_median,
           max(lag_median_days) as lag_median_days, max(lag_p90_days) as lag_p90_days
    from (
        select registry_id, unit_id, region_code, period_start, registrations,
               cast(null as double precision) as trailing_12m_median,
               lag_median_days, lag_p90_days, 1 as in_dense
        from dense
        union all
        select registry_id, unit_id, cast(null as varchar), period_start, cast(null as bigint),
               trailing_12m_median, cast(null as double precision), cast(null as double precision), 0
        from trailing_median
    ) as months_and_medians
    group by registry_id, unit_id, period_start
    having max(in_dense) = 1
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
