{#- A rate as the text a table cell shows ("83.4 %"); the same text on both warehouses. -#}
{% macro format_pct(expr) -%}{{ return(adapter.dispatch('format_pct')(expr)) }}{%- endmacro %}

{% macro default__format_pct(expr) -%}
    to_char(round(cast(({{ expr }}) * 100 as numeric), 1), 'FM990.0') || ' %'
{%- endmacro %}

{% macro duckdb__format_pct(expr) -%}
    printf('%.1f %%', round(cast(({{ expr }}) * 100 as decimal(18, 6)), 1))
{%- endmacro %}
