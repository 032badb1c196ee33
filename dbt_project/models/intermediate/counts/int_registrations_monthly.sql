-- Registrations per unit and event month with the registration lag's median and 90th percentile.
-- Incremental like int_indicator_monthly (decision 0012).
{{ config(pre_hook="{{ delete_changed_registry_periods('month_start', 'month') }}") }}
{%- set changed = changed_registry_periods('month_start', 'month') %}

select
    registry_id,
    unit_id,
    cast({{ dbt.date_trunc('month', 'event_date') }} as date) as month_start,
    cast(count(*) as bigint) as registrations,
    cast(percentile_cont(0.5) within group (order by lag_days) as double precision) as lag_median_days,
    cast(percentile_cont(0.9) within group (order by lag_days) as double precision) as lag_p90_days,
    cast(current_timestamp as timestamp) as _built_at
from {{ ref('int_registrations') }}
where {{ in_changed_registry_periods(changed, 'event_date', 'month') }}
group by 1, 2, 3
