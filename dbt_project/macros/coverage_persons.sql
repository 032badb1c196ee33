{#
  Coverage links registry and reference register per person and calendar year, so a new month
  used to rebuild the link of its whole year (decision 0014). Instead:
  - int_coverage_person_months keeps, per person and month, the lowest unit in the registry and in
    the reference register; it rebuilds the months the base tables rebuilt, and queues them in
    staging.coverage_pending_months;
  - int_coverage_person_years keeps, per person and year, the lowest unit on each side and which
    months the person appears in (a bit per month); its pre-hooks take the queued months, find the
    persons they touch (those a queued month holds now, from the month table, and those it held
    before, from the month bits) and drop their years; the body recomputes just those persons;
  - int_coverage_yearly counts the person-years of the changed years.
  The queue is consumed in the person-year model's transaction, so a failed build loses nothing.
#}

{# first pre-hook of the month table: queue the months about to be rebuilt (before the delete,
   which changes what changed_registry_periods sees); a full build queues every month, so a
   person-year table built incrementally after it still catches up #}
{% macro queue_coverage_months() -%}
    {%- if incremental_run() -%}
        {%- set changed = changed_registry_periods('event_month', 'month') -%}
        {%- if changed -%}
            insert into staging.coverage_pending_months values
            {%- for registry, p in changed %}
                ('{{ registry }}', cast('{{ p }}' as date)){% if not loop.last %},{% endif %}
            {%- endfor -%}
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        insert into staging.coverage_pending_months
        select distinct registry_id, event_month from staging.base_months
    {%- endif -%}
{%- endmacro %}


{# the month's bit in a person-year's month set #}
{% macro month_bit(month_column) -%}
    (cast(1 as integer) << (cast(extract(month from {{ month_column }}) as integer) - 1))
{%- endmacro %}


{# first pre-hook of the person-year table: the persons whose years the queued months touch, into
   staging.coverage_touched; the queue is consumed. On a full build: clear both. #}
{% macro take_touched_persons(months_relation) -%}
    delete from staging.coverage_touched;
    {% if incremental_run() -%}
        delete from staging.coverage_taken_months;
        insert into staging.coverage_taken_months
        select distinct registry_id, event_month from staging.coverage_pending_months;
        insert into staging.coverage_touched
        select registry_id, person_id, year_start from {{ this }} as p
        where exists (
            select 1 from staging.coverage_taken_months as q
            where q.registry_id = p.registry_id
                and q.event_month >= p.year_start
                and q.event_month < cast({{ dbt.dateadd('year', 1, 'p.year_start') }} as date)
                and (p.months_mask & {{ month_bit('q.event_month') }}) <> 0)
        union
        select m.registry_id, m.person_id, cast({{ dbt.date_trunc('year', 'm.event_month') }} as date)
        from staging.coverage_taken_months as q
        inner join {{ months_relation }} as m
            on m.registry_id = q.registry_id and m.event_month = q.event_month;
        delete from staging.coverage_pending_months as q
        where exists (select 1 from staging.coverage_taken_months as t
                      where t.registry_id = q.registry_id and t.event_month = q.event_month)
        {%- if target.type == 'postgres' %};
        analyze staging.coverage_touched
        {%- endif -%}
    {%- else -%}
        delete from staging.coverage_pending_months
    {%- endif -%}
{%- endmacro %}


{# second pre-hook: drop the touched persons' years, to be recomputed by the body #}
{% macro delete_touched_persons() -%}
    {%- if incremental_run() -%}
        delete from {{ this }} as p
        using staging.coverage_touched as t
        where t.registry_id = p.registry_id and t.person_id = p.person_id
            and t.year_start = p.year_start
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# PostgreSQL: the persons' lookups and the year scans take an index; DuckDB needs none #}
{% macro coverage_indexes(column_lists) -%}
    {%- set out = [] -%}
    {%- if target.type == 'postgres' -%}
        {%- for columns in column_lists -%}
            {%- do out.append({'columns': columns}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}
