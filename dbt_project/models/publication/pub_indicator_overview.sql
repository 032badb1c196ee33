-- The network overview: every indicator for every unit, its region and the country over the
-- latest rolling 12 months, as a table shows it: a hidden value or denominator reads ".."
-- (Statistics Sweden's mark for a figure that cannot be published), never a number. Not "<5":
-- that would say which hidden cells hold a small count, and most are hidden as partners.
-- target_score (1 high, 0 between, -1 low) drives the table's colouring.
--
-- Beside each value (decision 0022), all NULL where the value is hidden:
-- - coverage_pct: the unit's (or region's) coverage as pub_coverage publishes it, a whole per
--   cent, for the calendar year the window ends in, else the latest year before it that has a
--   coverage row (coverage_year); NULL where that cell is hidden. Never a count.
-- - completeness_pct: the share filled of the unit's least filled checked variable in the
--   registry's latest warehouse check (its last 12 months of events), a whole per cent, over the
--   variables whose share pub_ops_unit_findings publishes: at least k values missing and at least
--   k present (a share of fewer is a small count over the published registrations). NULL when no
--   variable's share is published. Units only.
-- - missing_could_change_level: with coverage c, the reference register's cases the registry
--   lacks are a share 1 − c of all the unit's cases; counted all not met the rate is c·p, all
--   met c·p + (1 − c). True when those two fall on different target levels (seeds/indicators.csv,
--   macro target_level). From the published rate and coverage only.
{% set k = var('suppression_k') | int %}
with latest as (
    select indicator_id, max(period_start) as period_start
    from {{ ref('pub_indicator_values') }}
    where period_grain = 'rolling_12m'
    group by indicator_id
),

v as (
    select v.*
    from {{ ref('pub_indicator_values') }} as v
    inner join latest as l on l.indicator_id = v.indicator_id and l.period_start = v.period_start
    where v.period_grain = 'rolling_12m'
),

-- the coverage row of the year the window ends in, or the latest year before it
coverage_years as (
    select
        v.value_key,
        c.event_year,
        c.suppressed,
        case when c.suppressed then null else floor(c.coverage * 100 + 0.5) end as coverage_pct,
        row_number() over (partition by v.value_key order by c.event_year desc) as newest
    from v
    inner join {{ ref('pub_coverage') }} as c
        on c.registry_id = v.registry_id and c.level = v.level
        and c.event_year <= extract(year from v.period_end)
        and ((v.level = 'unit' and c.unit_id = v.unit_id)
             or (v.level = 'region' and c.unit_id is null and c.region_code = v.region_code))
    where v.level in ('unit', 'region')
),

last_check as (
    select registry_id, max(checked_at) as checked_at
    from {{ source('ops', 'dq_results') }}
    where stage = 'warehouse'
    group by registry_id
),

completeness as (
    select
        r.registry_id,
        r.unit_id,
        floor(100 - max(r.observed_value) + 0.5) as completeness_pct
    from {{ source('ops', 'dq_results') }} as r
    inner join last_check as l on l.registry_id = r.registry_id and l.checked_at = r.checked_at
    where r.stage = 'warehouse' and r.check_name = 'completeness_missing_pct'
        and r.unit_id is not null and r.observed_value is not null
        and coalesce(r.unexpected_count, 0) >= {{ k }}
        and coalesce(r.element_count, 0) - coalesce(r.unexpected_count, 0) >= {{ k }}
    group by r.registry_id, r.unit_id
),

beside as (
    select
        v.*,
        i.direction,
        c.event_year as coverage_year,
        c.coverage_pct / 100.0 as coverage_share,
        c.coverage_pct,
        q.completeness_pct
    from v
    inner join {{ ref('indicators') }} as i on i.indicator_id = v.indicator_id
    left join coverage_years as c on c.value_key = v.value_key and c.newest = 1
    left join completeness as q
        on v.level = 'unit' and q.registry_id = v.registry_id and q.unit_id = v.unit_id
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
    v.dq_warning_checks,
    cast(case when v.suppressed then null else v.coverage_pct end as double precision)
        as coverage_pct,
    cast(case when v.suppressed or v.coverage_pct is null then null else v.coverage_year end
         as integer) as coverage_year,
    cast(case when v.suppressed then null else v.completeness_pct end as double precision)
        as completeness_pct,
    case when v.suppressed or v.rate is null or v.coverage_share is null then null
        else {{ target_level('v.coverage_share * v.rate', 'v.direction', 'v.target_high',
                             'v.target_low') }}
            <> {{ target_level('v.coverage_share * v.rate + (1 - v.coverage_share)',
                               'v.direction', 'v.target_high', 'v.target_low') }}
    end as missing_could_change_level
from beside as v
