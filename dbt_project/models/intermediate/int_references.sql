-- Every reference-register record (Dödsorsaksregistret, Patientregistret, Cancerregistret).
{% for registry in ['palliativ', 'njur', 'swedvasc', 'blodcancer'] %}
select registry_id, unit_id, region_code, person_id, event_date
from {{ ref('stg_' ~ registry ~ '__referens') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
