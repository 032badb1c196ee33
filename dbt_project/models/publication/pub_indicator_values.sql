-- Indicator values for dashboards: every level and grain, small cells suppressed.
-- Primary: counts 1..k-1 (numerator, denominator or complement). Complementary: in every group
-- whose total is published (units within a region, regions within the country), a single
-- suppressed cell takes a second one with it (the smallest), so the first can't be derived.
-- dq_warning: a warning-level data-quality check failed for the unit in this period.
-- Period-incremental (decision 0016): the periods containing a changed month, and the periods
-- a raised or cleared warning covers.
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_periods_of_mart(period_changes(ref('int_indicator_monthly'), dq_warning_changes_sql())) }}",
          post_hook=["{{ record_period_mart_state(ref('int_indicator_monthly')) }}",
                     "{{ record_published_dq_warnings() }}"]) }}
{%- set changes = period_changes(ref('int_indicator_monthly'), dq_warning_changes_sql()) %}
with v as (
    select *, {{ small_cell('numerator', 'denominator') }} as primary_small
    from {{ ref('fct_indicator_values') }}
    where {{ in_changed_periods(changes) }}
),

units as (
    select
        v.*,
        sum(case when primary_small then 1 else 0 end) over (
            partition by indicator_id, period_grain, period_start, region_code) as suppressed_in_group,
        row_number() over (
            partition by indicator_id, period_grain, period_start, region_code, primary_small
            order by denominator, unit_id) as size_rank
    from v
    where level = 'unit'
),

regions as (
    select
        v.*,
        sum(case when primary_small then 1 else 0 end) over (
            partition by indicator_id, period_grain, period_start) as suppressed_in_group,
        row_number() over (
            partition by indicator_id, period_grain, period_start, primary_small
            order by denominator, region_code) as size_rank
    from v
    where level = 'region'
),

flagged as (
    select u.*, (not primary_small and suppressed_in_group = 1 and size_rank = 1) as complementary
    from units as u
    union all
    select r.*, (not primary_small and suppressed_in_group = 1 and size_rank = 1) as complementary
    from regions as r
    union all
    select v.*, 0 as suppressed_in_group, 1 as size_rank, false as complementary
    from v
    where level = 'national'
),

-- a unit's values in the periods a failed data-quality check looked at carry its name
warned as (
    select
        f.indicator_id, f.unit_id, f.period_grain, f.period_start,
        string_agg(distinct w.check_label, ', ' order by w.check_label) as checks
    from flagged as f
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
    case when f.primary_small or f.complementary then null else f.numerator end as numerator,
    case when f.denominator between 1 and {{ var('suppression_k') - 1 }} or f.complementary
        then null else f.denominator end as denominator,
    case when f.primary_small or f.complementary then null else f.rate end as rate,
    case when f.primary_small or f.complementary then null else f.ci_low end as ci_low,
    case when f.primary_small or f.complementary then null else f.ci_high end as ci_high,
    cast(case when f.primary_small or f.complementary then null else f.target_level end
         as varchar(8)) as target_level,
    cast(i.target_high as double precision) as target_high,
    cast(i.target_low as double precision) as target_low,
    f.unreliable,
    (f.primary_small or f.complementary) as suppressed,
    cast(case
        when f.primary_small then 'small_count'
        when f.complementary then 'complementary'
    end as varchar(16)) as suppression_reason,
    (w.checks is not null) as dq_warning,
    cast(w.checks as varchar(300)) as dq_warning_checks,
    -- not published (publish leaves out columns with a leading underscore); the snapshot reads
    -- only the rows rebuilt since its last change
    cast(current_timestamp as timestamp) as _built_at
from flagged as f
left join warned as w
    on f.level = 'unit' and w.indicator_id = f.indicator_id and w.unit_id = f.unit_id
    and w.period_grain = f.period_grain and w.period_start = f.period_start
inner join {{ ref('indicators') }} as i on i.indicator_id = f.indicator_id
left join {{ ref('dim_unit') }} as u on u.unit_id = f.unit_id and u.registry_id = f.registry_id
