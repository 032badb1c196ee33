-- Every registration of every registry (not the yearly prevalence census), with its lag.
{% set sources = [
    ('stg_palliativ__dodsfall', 'dodsfall'), ('stg_njur__start', 'start'),
    ('stg_swedvasc__operation', 'operation'), ('stg_blodcancer__diagnos', 'diagnos')] %}
{% for model, entity in sources %}
select
    registry_id,
    '{{ entity }}' as entity,
    unit_id,
    region_code,
    person_id,
    event_date,
    registration_date,
    {{ dbt.datediff('event_date', 'registration_date', 'day') }} as lag_days
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
