-- Funnel-limit curves for charts. Period-incremental (decision 0016).
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{{ delete_changed_periods_of_mart(period_changes(ref('int_indicator_monthly'))) }}",
          post_hook="{{ record_period_mart_state(ref('int_indicator_monthly')) }}") }}
{%- set changes = period_changes(ref('int_indicator_monthly')) %}
select
    cast(registry_id as varchar(32)) as registry_id,
    cast(indicator_id as varchar(64)) as indicator_id,
    cast(period_grain as varchar(12)) as period_grain,
    period_start,
    denominator,
    cast(theta0 as double precision) as theta0,
    cast(lower_95 as double precision) as lower_95,
    cast(upper_95 as double precision) as upper_95,
    cast(lower_998 as double precision) as lower_998,
    cast(upper_998 as double precision) as upper_998
from {{ ref('fct_funnel_limits') }}
where {{ in_changed_periods(changes) }}
