-- Each person once per registry, event month and side of the coverage link (reg: the registry,
-- ref: its reference register), with the lowest unit of the month. Incremental per (registry,
-- month) like int_indicator_monthly, so a new month costs that month; int_coverage_yearly links a
-- changed year from these narrow rows instead of re-reading the year's registrations (0012, 0013).
{{ config(pre_hook="{{ delete_changed_registry_periods('month_start', 'month') }}",
          indexes=([{'columns': ['registry_id', 'month_start']}] if target.type == 'postgres' else [])) }}
{%- set changed = changed_registry_periods('month_start', 'month') %}

{% for side, model in [('reg', 'int_registrations'), ('ref', 'int_references')] %}
select
    registry_id,
    person_id,
    cast({{ dbt.date_trunc('month', 'event_date') }} as date) as month_start,
    cast('{{ side }}' as varchar(3)) as side,
    min(unit_id) as unit_id,
    cast(current_timestamp as timestamp) as _built_at
from {{ ref(model) }}
where {{ in_changed_registry_periods(changed, 'event_date', 'month') }}
group by 1, 2, 3
{% if not loop.last %}union all{% endif %}
{% endfor %}
