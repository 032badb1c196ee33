{# dbt.safe_cast compiles to a plain CAST on both adapters (STACK.md); this one really is safe. #}
{% macro safe_cast(field, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'regbench')(field, type)) }}
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro postgres__safe_cast(field, type) -%}
    {%- set t = type | lower -%}
    {%- if t in ('integer', 'int', 'bigint', 'smallint') -%}
    case when trim({{ field }}::text) ~ '^[+-]?[0-9]+$' then ({{ field }})::{{ type }} end
    {%- elif t in ('double precision', 'numeric', 'float', 'real') -%}
    case when trim({{ field }}::text) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then ({{ field }})::{{ type }} end
    {%- elif t == 'date' -%}
    case when trim({{ field }}::text) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
          and to_char(to_date(trim({{ field }}::text), 'YYYY-MM-DD'), 'YYYY-MM-DD') = trim({{ field }}::text)
         then ({{ field }})::date end
    {%- else -%}
    ({{ field }})::{{ type }}
    {%- endif -%}
{%- endmacro %}

{% macro default__safe_cast(field, type) -%}
    cast({{ field }} as {{ type }})
{%- endmacro %}
