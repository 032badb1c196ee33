{#
  Coverage links a registry and its reference register per person and calendar year, so a new
  month used to rebuild the link of its whole year (decision 0014). Instead:
  - int_coverage_person_months keeps, per person and month, the lowest unit in the registry and in
    the reference register. It rebuilds the months the base tables rebuilt since it last built
    them (its own small ledger, staging.coverage_months_built, so it never scans itself to find
    out), queues those months, and queues the persons the old rows of those months named;
  - int_coverage_person_years keeps, per person and year, the lowest unit on each side. Its
    pre-hooks take both queues: the touched persons are the queued ones (who were in a changed
    month) and those a queued month holds now; their years are deleted and recomputed from the
    month table, one index lookup per person; nobody else's;
  - int_coverage_yearly counts the person-years of the years that changed.
  The queues are consumed in the person-year model's transaction, so a failed build loses nothing.
#}

{# (registry, month)s the base tables rebuilt after the month table last built them, or that
   vanished from the bases; ISO date strings #}
{% macro changed_person_months() -%}
    {%- if not execute or not incremental_run() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set sql -%}
        with now_base as (
            select registry_id, event_month, max(built_at) as built
            from staging.base_months group by 1, 2
        )
        select coalesce(now_base.registry_id, b.registry_id),
               cast(coalesce(now_base.event_month, b.event_month) as varchar)
        from now_base
        full outer join staging.coverage_months_built as b
            on b.registry_id = now_base.registry_id and b.event_month = now_base.event_month
        where b.built_at is null or now_base.built is null or now_base.built >= b.built_at
        order by 1, 2
    {%- endset -%}
    {{ return(run_query(sql).rows | map('list') | list) }}
{%- endmacro %}


{% macro in_registry_months(months, registry_column, month_column) -%}
    {%- if not months -%}
        false
    {%- else -%}
        ({%- for registry, p in months -%}
            ({{ registry_column }} = '{{ registry }}' and {{ month_column }} = cast('{{ p }}' as date))
            {%- if not loop.last %} or {% endif -%}
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}


{# pre-hook of the month table: queue the changed months and the persons their old rows name,
   drop those rows, and record the months as built now. A full build queues every month, so a
   person-year table built incrementally after it still catches up. #}
{% macro start_person_months() -%}
    {%- if incremental_run() -%}
        {%- set changed = changed_person_months() -%}
        {%- if changed -%}
            insert into staging.coverage_pending_months values
            {%- for registry, p in changed %}
                ('{{ registry }}', cast('{{ p }}' as date)){% if not loop.last %},{% endif %}
            {%- endfor %};
            insert into staging.coverage_pending_persons
            select distinct registry_id, person_id, cast({{ dbt.date_trunc('year', 'event_month') }} as date)
            from {{ this }} where {{ in_registry_months(changed, 'registry_id', 'event_month') }};
            delete from {{ this }} where {{ in_registry_months(changed, 'registry_id', 'event_month') }};
            delete from staging.coverage_months_built
            where {{ in_registry_months(changed, 'registry_id', 'event_month') }};
            insert into staging.coverage_months_built
            select distinct registry_id, event_month, cast(current_timestamp as timestamp)
            from staging.base_months where {{ in_registry_months(changed, 'registry_id', 'event_month') }}
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        delete from staging.coverage_months_built;
        insert into staging.coverage_months_built
        select distinct registry_id, event_month, cast(current_timestamp as timestamp)
        from staging.base_months;
        insert into staging.coverage_pending_months
        select distinct registry_id, event_month from staging.base_months
    {%- endif -%}
{%- endmacro %}


{# first pre-hook of the person-year table: the touched persons into staging.coverage_touched,
   both queues consumed. On a full build: everything is rebuilt, the queues are cleared. #}
{% macro take_touched_persons(months_relation) -%}
    delete from staging.coverage_touched;
    {% if incremental_run() -%}
        {%- set months = run_query("select distinct registry_id, cast(event_month as varchar)"
                                   ~ " from staging.coverage_pending_months order by 1, 2").rows
                                   | map('list') | list if execute else [] -%}
        insert into staging.coverage_touched
        select registry_id, person_id, year_start from staging.coverage_pending_persons
        union
        select registry_id, person_id, cast({{ dbt.date_trunc('year', 'event_month') }} as date)
        from {{ months_relation }}
        where {{ in_registry_months(months, 'registry_id', 'event_month') }};
        delete from staging.coverage_pending_persons;
        delete from staging.coverage_pending_months
        where {{ in_registry_months(months, 'registry_id', 'event_month') }}
        {%- if target.type == 'postgres' %};
        analyze staging.coverage_touched
        {%- endif -%}
    {%- else -%}
        delete from staging.coverage_pending_persons;
        delete from staging.coverage_pending_months
    {%- endif -%}
{%- endmacro %}


{# second pre-hook: drop the touched persons' years, to be recomputed by the body #}
{% macro delete_touched_persons() -%}
    {%- if incremental_run() -%}
        {%- set years = run_query("select distinct cast(year_start as varchar) from staging.coverage_touched"
                                  ~ " order by 1").columns[0].values() | list if execute else [] -%}
        delete from {{ this }} as p
        using staging.coverage_touched as t
        where t.registry_id = p.registry_id and t.person_id = p.person_id
            and t.year_start = p.year_start and {{ in_years('p.year_start', years) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# the years given (ISO dates), as literals, so PostgreSQL reads their slice through the index on
   the period; random lookups per person cost more than a hash join over the slice at 10 M #}
{% macro in_years(column, years) -%}
    {%- if not years -%}
        false
    {%- else -%}
        {{ column }} in ({%- for y in years -%}cast('{{ y }}' as date){% if not loop.last %}, {% endif %}{%- endfor -%})
    {%- endif -%}
{%- endmacro %}


{# PostgreSQL: the months' and years' slices take an index; DuckDB needs none #}
{% macro coverage_indexes(column_lists) -%}
    {%- set out = [] -%}
    {%- if target.type == 'postgres' -%}
        {%- for columns in column_lists -%}
            {%- do out.append({'columns': columns}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}

