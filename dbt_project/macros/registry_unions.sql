{#- The registries and indicators the intermediate unions read. regbench passes them as dbt vars
    (transform.registry_vars) from registries/<id>.yaml and seeds/indicators.csv, so adding a
    registry or an indicator edits no list here. Vars, not `graph` and tags: ref() must be known
    when dbt parses a model, and `graph` is empty until parsing is done. -#}

{% macro registry_var(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ name ~ "' is not set: regbench sets it from the contracts (registries/*.yaml)"
            ~ " and seeds/indicators.csv; build through `regbench build`") }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{#- Every indicator model, unioned by column name (a model that lacks one fails, instead of a
    union by position putting is_met under is_eligible). At execution, a model tagged `indicator` (models/indicators/) that
    is not in the union stops the build instead of silently missing from the marts. -#}
{% macro union_indicator_models() %}
    {%- set models = registry_var('indicator_models') -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
              if node.resource_type == 'model' and 'indicator' in node.tags
                 and node.name not in models %}
            {{ exceptions.raise_compiler_error(
                "model " ~ node.name ~ " (" ~ node.original_file_path ~ ") is an indicator with no"
                ~ " row in seeds/indicators.csv: add its row, or remove the model") }}
        {%- endfor -%}
    {%- endif -%}
    {%- set columns = ['registry_id', 'indicator_id', 'unit_id', 'region_code', 'event_date',
                       'person_id', 'birth_year', 'sex', 'is_eligible', 'is_met'] -%}
    {%- for model in models %}
select {{ columns | join(', ') }} from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
    {%- endfor %}
{% endmacro %}
