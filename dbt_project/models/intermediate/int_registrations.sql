-- Every registration of every registry (not a census such as njur's yearly prevalence), with its
-- lag: one staging model per registrations entity of each contract (macros/registry_unions.sql).
{% set sources = [] %}
{% for registry_id, registry in registry_var('registries').items() %}
    {% for source in registry['registrations'] %}{% do sources.append(source) %}{% endfor %}
{% endfor %}
{% for source in sources %}
select
    registry_id,
    '{{ source["entity"] }}' as entity,
    unit_id,
    region_code,
    person_id,
    event_date,
    registration_date,
    {{ dbt.datediff('event_date', 'registration_date', 'day') }} as lag_days
from {{ ref(source['model']) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
