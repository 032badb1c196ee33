-- Indicator values per unit, region and the whole country; per month, quarter, year and rolling
-- 12 months: numerator, denominator, rate, Wilson 95 % interval (exact z from the macro
-- normal_quantile, decision 0019), target level, reliability.
-- Period-incremental: a night rebuilds the periods that contain a changed month (decision 0016).
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_periods_of_mart(period_changes(ref('int_indicator_monthly'))) }}",
          post_hook="{{ record_period_mart_state(ref('int_indicator_monthly')) }}") }}
{%- set changes = period_changes(ref('int_indicator_monthly')) %}
with monthly_unit as (
    select m.registry_id, m.indicator_id, m.unit_id, u.region_code, m.month_start, m.numerator,
           m.denominator
    from {{ ref('int_indicator_monthly') }} as m
    left join {{ ref('units') }} as u on u.unit_id = m.unit_id and u.registry_id = m.registry_id
    where {{ in_months_around_changes(changes, 'm.month_start', 'm.registry_id') }}
),

monthly as (
    select registry_id, indicator_id, 'unit' as level, unit_id, region_code, month_start,
           numerator, denominator
    from monthly_unit
    union all
    select registry_id, indicator_id, 'region', null, region_code, month_start,
           sum(numerator), sum(denominator)
    from monthly_unit
    where region_code is not null
    group by registry_id, indicator_id, region_code, month_start
    union all
    select registry_id, indicator_id, 'national', null, null, month_start,
           sum(numerator), sum(denominator)
    from monthly_unit
    group by registry_id, indicator_id, month_start
),

-- from all of the counts: a rebuild reads only the months around the changes
first_month as (
    select registry_id, min(month_start) as first_month
    from {{ ref('int_indicator_monthly') }}
    group by registry_id
),

-- every series gets every month of its registry (zeros where nothing happened), so that a unit's
-- rolling window exists whenever its region's does
calendar as (
    select distinct registry_id, indicator_id, month_start from monthly where level = 'national'
),

series as (
    select distinct registry_id, indicator_id, level, unit_id, region_code from monthly
),

dense as (
    select
        s.registry_id, s.indicator_id, s.level, s.unit_id, s.region_code, c.month_start,
        coalesce(m.numerator, 0) as numerator,
        coalesce(m.denominator, 0) as denominator
    from series as s
    inner join calendar as c
        on c.registry_id = s.registry_id and c.indicator_id = s.indicator_id
    left join monthly as m
        on m.registry_id = s.registry_id and m.indicator_id = s.indicator_id
        and m.level = s.level and m.month_start = c.month_start
        and coalesce(m.unit_id, '') = coalesce(s.unit_id, '')
        and coalesce(m.region_code, '') = coalesce(s.region_code, '')
),

periods as (
    select registry_id, indicator_id, level, unit_id, region_code, 'month' as period_grain,
           month_start as period_start, numerator, denominator
    from monthly
    union all
    select registry_id, indicator_id, level, unit_id, region_code, 'quarter',
           cast({{ dbt.date_trunc('quarter', 'month_start') }} as date), sum(numerator), sum(denominator)
    from monthly
    group by 1, 2, 3, 4, 5, 7
    union all
    select registry_id, indicator_id, level, unit_id, region_code, 'year',
           cast({{ dbt.date_trunc('year', 'month_start') }} as date), sum(numerator), sum(denominator)
    from monthly
    group by 1, 2, 3, 4, 5, 7
    union all
    -- the 12 months ending with each month; only windows the registry's history fully covers
    select r.registry_id, r.indicator_id, r.level, r.unit_id, r.region_code, 'rolling_12m',
           r.window_start, r.numerator_12, r.denominator_12
    from (
        select
            m.*,
            cast({{ dbt.dateadd('month', -11, 'm.month_start') }} as date) as window_start,
            sum(m.numerator) over w as numerator_12,
            sum(m.denominator) over w as denominator_12
        from dense as m
        window w as (
            partition by m.registry_id, m.indicator_id, m.level, m.unit_id, m.region_code
            order by m.month_start
            range between interval '11 months' preceding and current row
        )
    ) as r
    inner join first_month as f on f.registry_id = r.registry_id
    where r.window_start >= f.first_month and r.denominator_12 > 0
)

select
    v.registry_id,
    v.indicator_id,
    cast(v.level as varchar(8)) as level,
    v.unit_id,
    v.region_code,
    cast(v.period_grain as varchar(12)) as period_grain,
    v.period_start,
    cast(case v.period_grain
        when 'month' then {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'v.period_start')) }}
        when 'quarter' then {{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'v.period_start')) }}
        else {{ dbt.dateadd('day', -1, dbt.dateadd('month', 12, 'v.period_start')) }}
    end as date) as period_end,
    cast(v.numerator as bigint) as numerator,
    cast(v.denominator as bigint) as denominator,
    cast(v.numerator as double precision) / v.denominator as rate,
    cast({{ wilson_low('v.numerator', 'v.denominator') }} as double precision) as ci_low,
    cast({{ wilson_high('v.numerator', 'v.denominator') }} as double precision) as ci_high,
    cast({{ target_level('cast(v.numerator as double precision) / v.denominator', 'i.direction',
                         'i.target_high', 'i.target_low') }} as varchar(8)) as target_level,
    v.denominator < i.min_reliable_denominator as unreliable,
    cast(current_timestamp as timestamp) as _built_at
from periods as v
inner join {{ ref('indicators') }} as i on i.indicator_id = v.indicator_id
where {{ in_changed_periods(changes, 'v.period_grain', 'v.period_start', 'v.registry_id') }}
