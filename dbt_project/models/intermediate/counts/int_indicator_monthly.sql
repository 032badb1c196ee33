-- Numerator and denominator per indicator, unit and event month: the only pass over patient-level
-- rows that the indicator marts need. Incremental: a night rebuilds only the (registry, month)s
-- whose base rows changed (decision 0012). Regions are joined downstream, from the units seed.
{{ config(pre_hook="{{ delete_changed_registry_periods('month_start', 'month') }}") }}
{%- set changed = changed_registry_periods('month_start', 'month') %}

select
    registry_id,
    indicator_id,
    unit_id,
    cast({{ dbt.date_trunc('month', 'event_date') }} as date) as month_start,
    cast(sum(case when is_met then 1 else 0 end) as bigint) as numerator,
    cast(count(*) as bigint) as denominator,
    cast(current_timestamp as timestamp) as _built_at
from {{ ref('int_indicator_events') }}
where is_eligible and {{ in_changed_registry_periods(changed, 'event_date', 'month') }}
group by 1, 2, 3, 4
