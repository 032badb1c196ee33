-- Indicator values for dashboards: every level and grain, as the disclosure layer lets them out
-- (disclosed_indicator_values): a hidden cell shows no count and no statistic, and not why it is
-- hidden: "its own count is small" would itself say that a count is 1..k-1 (docs/disclosure.md).
-- The reasons are in marts.disclosure_cells, and counted per indicator in pub_suppression.
-- dq_warning: a warning-level data-quality check failed for the unit in this period.
-- A full table each night: the disclosure layer decides over all periods together, so a night's
-- new month can change what is hidden in another period (docs/decisions/0017).
with v as (
    select * from {{ ref('disclosed_indicator_values') }}
),

-- a unit's values in the periods a failed data-quality check looked at carry its name
warned as (
    select
        f.indicator_id, f.unit_id, f.period_grain, f.period_start,
        string_agg(distinct w.check_label, ', ' order by w.check_label) as checks
    from v as f
    inner join {{ ref('int_dq_unit_warnings') }} as w
        on w.registry_id = f.registry_id and w.unit_id = f.unit_id
        and f.period_start < w.period_until and f.period_end >= w.period_from
    where f.level = 'unit'
    group by f.indicator_id, f.unit_id, f.period_grain, f.period_start
)

select
    cast(f.indicator_id || '|' || f.level || '|' || coalesce(f.unit_id, '') || '|'
         || coalesce(f.region_code, '') || '|' || f.period_grain || '|'
         || cast(f.period_start as varchar(10)) as varchar(200)) as value_key,
    cast(f.registry_id as varchar(32)) as registry_id,
    cast(f.indicator_id as varchar(64)) as indicator_id,
    cast(i.name_sv as varchar(200)) as indicator_name_sv,
    cast(i.name_en as varchar(200)) as indicator_name_en,
    cast(f.level as varchar(8)) as level,
    cast(f.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(f.region_code as varchar(6)) as region_code,
    cast(f.period_grain as varchar(12)) as period_grain,
    f.period_start,
    f.period_end,
    f.numerator,
    f.denominator,
    f.rate,
    f.ci_low,
    f.ci_high,
    cast(f.target_level as varchar(8)) as target_level,
    cast(i.target_high as double precision) as target_high,
    cast(i.target_low as double precision) as target_low,
    f.unreliable,
    f.suppressed,
    (w.checks is not null) as dq_warning,
    cast(w.checks as varchar(300)) as dq_warning_checks,
    -- not published (publish leaves out columns with a leading underscore); the snapshot reads
    -- only the rows rebuilt since its last change
    cast(current_timestamp as timestamp) as _built_at
from v as f
left join warned as w
    on f.level = 'unit' and w.indicator_id = f.indicator_id and w.unit_id = f.unit_id
    and w.period_grain = f.period_grain and w.period_start = f.period_start
inner join {{ ref('indicators') }} as i on i.indicator_id = f.indicator_id
left join {{ ref('dim_unit') }} as u on u.unit_id = f.unit_id and u.registry_id = f.registry_id
