-- The network overview: every indicator for every unit, its region and the country over the
-- latest rolling 12 months, as a table shows it: a hidden value or denominator reads ".."
-- (Statistics Sweden's mark for a figure that cannot be published), never a number. Not "<5":
-- that would say which hidden cells hold a small count, and most are hidden as partners.
-- target_score (1 high, 0 between, -1 low) drives the table's colouring.
with latest as (
    select indicator_id, max(period_start) as period_start
    from {{ ref('pub_indicator_values') }}
    where period_grain = 'rolling_12m'
    group by indicator_id
)

select
    v.registry_id,
    v.indicator_id,
    v.indicator_name_sv,
    v.indicator_name_en,
    cast(v.level as varchar(8)) as level,
    v.unit_id,
    cast(case v.level when 'unit' then v.unit_name when 'region' then v.region_code
         else 'Riket' end as varchar(200)) as unit_name,
    v.region_code,
    v.period_start,
    v.period_end,
    cast(case when v.suppressed then '..' when v.rate is null then '–'
              else {{ format_pct('v.rate') }} end as varchar(16)) as rate_text,
    cast(case when v.denominator is null then '..'
              else cast(v.denominator as varchar(16)) end as varchar(16)) as denominator_text,
    case when v.suppressed then null else v.rate end as rate,
    case when v.suppressed then null else v.ci_low end as ci_low,
    case when v.suppressed then null else v.ci_high end as ci_high,
    v.target_level,
    case v.target_level when 'high' then 1 when 'between' then 0 when 'low' then -1 end
        as target_score,
    v.unreliable,
    v.suppressed,
    v.dq_warning,
    v.dq_warning_checks
from {{ ref('pub_indicator_values') }} as v
join latest as l on l.indicator_id = v.indicator_id and l.period_start = v.period_start
where v.period_grain = 'rolling_12m'
