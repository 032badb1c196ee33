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


{# A base table whose build rebuilt no month has nothing new to plan with; analysing it anyway
   cost ≈ 0.8 s per table each night on PostgreSQL #}
{% macro analyze_base_after_build() %}
    {%- set rebuilt = true -%}
    {%- if execute and target.type == 'postgres' and incremental_run() -%}
        {%- set rebuilt = run_query("select count(*) from staging.base_rebuild_months where base_table = '"
                                    ~ this.identifier ~ "'").columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if target.type == 'postgres' and rebuilt -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}
