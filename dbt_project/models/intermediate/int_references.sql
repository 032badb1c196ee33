-- Every reference-register record (Dödsorsaksregistret, Patientregistret, Cancerregistret): one
-- staging model per reference entity of each contract (macros/registry_unions.sql).
{% set models = [] %}
{% for registry_id, registry in registry_var('registries').items() %}
    {% for model in registry['references'] %}{% do models.append(model) %}{% endfor %}
{% endfor %}
{% for model in models %}
select registry_id, unit_id, region_code, person_id, event_date
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
