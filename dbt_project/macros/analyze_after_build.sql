{# PostgreSQL plans a query on a table dbt has just created as if it were empty until autovacuum
   gets to it: the self-join in fct_funnel then became a nested loop that ran for minutes at 1 M
   registrations. Every table model gets its statistics as soon as it is built. DuckDB keeps
   statistics as it writes. #}
{% macro analyze_after_build() %}
    {%- if target.type == 'postgres' -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}
