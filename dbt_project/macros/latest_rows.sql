{#
  The latest version of every key of a raw table, kept as an incremental table whose nightly cost
  follows the months that changed (decisions 0012 and 0013).

  Whatever writes raw (ingest, a replacing delivery, opt-outs) records in the same transaction
  which event months of which raw table it touched (ops.raw_changes, regbench.raw_changes). A base
  table's pre-hook takes the months recorded for its raw table into staging.base_rebuild_months,
  consumes those records, and deletes its rows of those months; the body then reads raw for exactly
  those months (an index range scan on PostgreSQL) and appends their latest rows. Hook and body run
  in the model's one transaction, so a failed build consumes nothing; a record committed by a
  concurrent ingest after the months were taken stays for the next build.
#}

{# is_incremental(), but false in a unit test (which has no relation of its own) #}
{% macro incremental_run() -%}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}


{% macro period_of(date_column) -%}
    {%- if date_column -%}
        coalesce(cast({{ dbt.date_trunc('month', date_column) }} as date), cast('0001-01-01' as date))
    {%- else -%}
        cast('0001-01-01' as date)
    {%- endif -%}
{%- endmacro %}


{# The months each base table rebuilt and when: the incremental counts read this small table
   instead of scanning every base table (decision 0012); and the months a base table is rebuilding
   in the current build (decision 0013). Created by on-run-start. #}
{% macro create_base_months() -%}
    create table if not exists staging.base_months (
        registry_id varchar(32) not null,
        base_table varchar(200) not null,
        event_month date not null,
        built_at timestamp not null
    );
    create table if not exists staging.base_rebuild_months (
        base_table varchar(200) not null,
        event_month date not null
    )
{%- endmacro %}


{# a predicate for the rows of the given months (ISO dates; 0001-01-01: no date); true for a
   table without a month column #}
{% macro in_periods(date_column, periods) -%}
    {%- if not periods -%}
        false
    {%- elif not date_column -%}
        true
    {%- else -%}
        ({%- for p in periods -%}
            {%- if p == '0001-01-01' -%}
                {{ date_column }} is null
            {%- else -%}
                ({{ date_column }} >= cast('{{ p }}' as date)
                 and {{ date_column }} < cast({{ dbt.dateadd('month', 1, "cast('" ~ p ~ "' as date)") }} as date))
            {%- endif -%}
            {%- if not loop.last %} or {% endif -%}
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}


{% macro raw_table_name(relation) -%}
    {{- relation.schema ~ '.' ~ relation.identifier -}}
{%- endmacro %}


{# first pre-hook of a base table: take the months raw_changes records for its raw table into
   staging.base_rebuild_months (a table without a month column is one unit, '0001-01-01') and
   consume those records; on a full build, clear the table's records (everything is rebuilt) #}
{% macro take_changed_periods(relation, date_column) -%}
    {%- set name = this.identifier -%}
    {%- set raw_name = raw_table_name(relation) -%}
    delete from staging.base_rebuild_months where base_table = '{{ name }}';
    {% if incremental_run() -%}
        insert into staging.base_rebuild_months
        select distinct '{{ name }}', {{ 'event_month' if date_column else "cast('0001-01-01' as date)" }}
        from {{ source('ops', 'raw_changes') }}
        where table_name = '{{ raw_name }}';
        delete from {{ source('ops', 'raw_changes') }}
        where table_name = '{{ raw_name }}'
        {%- if date_column %}
            and event_month in (select event_month from staging.base_rebuild_months
                                where base_table = '{{ name }}')
        {%- endif -%}
    {%- else -%}
        delete from {{ source('ops', 'raw_changes') }} where table_name = '{{ raw_name }}'
    {%- endif -%}
{%- endmacro %}


{# second pre-hook (rendered after the first has run, in the same transaction): drop the months
   about to be rebuilt and record them as rebuilt now; literal month ranges, so the delete takes
   the month column's index rather than scanning the table. On a full build: every month raw holds. #}
{% macro delete_changed_periods(relation, date_column) -%}
    {%- set registry = this.identifier[5:].split('__')[0] -%}
    {%- set name = this.identifier -%}
    {%- if incremental_run() -%}
        {%- set periods = run_query("select cast(event_month as varchar) from staging.base_rebuild_months"
                                    ~ " where base_table = '" ~ name ~ "' order by 1").columns[0].values() | list
                          if execute else [] -%}
        {%- if periods -%}
            delete from {{ this }} where {{ in_periods(date_column, periods) }};
            delete from staging.base_months where base_table = '{{ name }}' and event_month in (
                {%- for p in periods -%}cast('{{ p }}' as date){% if not loop.last %}, {% endif %}{%- endfor -%});
            insert into staging.base_months
            select '{{ registry }}', '{{ name }}', event_month, cast(current_timestamp as timestamp)
            from staging.base_rebuild_months where base_table = '{{ name }}'
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        delete from staging.base_months where base_table = '{{ name }}';
        insert into staging.base_months
        select distinct '{{ registry }}', '{{ name }}', {{ period_of(date_column) }},
               cast(current_timestamp as timestamp)
        from {{ relation }}
    {%- endif -%}
{%- endmacro %}


{# The raw rows of the months being rebuilt: one range scan per month (lateral, so PostgreSQL
   takes the raw table's index on its month column whatever it guesses of base_rebuild_months,
   which it has no statistics for) #}
{% macro rows_of_rebuilt_months(relation, date_column) -%}
    {%- set name = this.identifier -%}
    {%- if date_column -%}
        select r.*
        from staging.base_rebuild_months as m
        cross join lateral (
            select * from {{ relation }} as raw_rows
            where raw_rows.{{ date_column }} >= m.event_month
                and raw_rows.{{ date_column }} < cast({{ dbt.dateadd('month', 1, 'm.event_month') }} as date)
        ) as r
        where m.base_table = '{{ name }}'
        union all
        select r.* from {{ relation }} as r
        where r.{{ date_column }} is null
            and exists (select 1 from staging.base_rebuild_months
                        where base_table = '{{ name }}' and event_month = cast('0001-01-01' as date))
    {%- else -%}
        select * from {{ relation }}
        where exists (select 1 from staging.base_rebuild_months where base_table = '{{ name }}')
    {%- endif -%}
{%- endmacro %}


{% macro latest_rows(relation, keys, date_column) -%}
{%- if date_column and date_column not in keys -%}
    {{ exceptions.raise_compiler_error(
        "latest_rows(" ~ relation ~ "): the month column " ~ date_column ~ " must be one of the key "
        ~ "columns " ~ keys ~ ", or one key's versions could sit in two months; pass none to "
        ~ "rebuild the table as one unit") }}
{%- endif -%}
with changed as (
    {% if incremental_run() -%}
        {{ rows_of_rebuilt_months(relation, date_column) }}
    {%- else -%}
        select * from {{ relation }}
    {%- endif %}
),

ranked as (
    select c.*, row_number() over (
        partition by {{ keys | join(', ') }} order by _loaded_at desc, _file_id desc, _row_number
    ) as _version_rank
    from changed as c
)

select r.*, {{ period_of('r.' ~ date_column if date_column else none) }} as _event_month,
       cast(current_timestamp as timestamp) as _built_at
from ranked as r
where r._version_rank = 1
{%- endmacro %}


{#
  Aggregates over the base tables (monthly counts, yearly coverage) are incremental too: a
  (registry, period) is rebuilt when any of the registry's base tables rebuilt a month of that
  period after the aggregate last built it (staging.base_months, written by the base tables'
  pre-hook), or when the period vanished from the bases. This holds because an intermediate model's event_date is always its
  staging row's event_date, whose month is the base row's _event_month.
#}

{% macro changed_registry_periods(period_column, grain) -%}
    {%- if not execute or not incremental_run() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set sql -%}
        with bases as (
            select registry_id, cast({{ dbt.date_trunc(grain, 'event_month') }} as date) as period,
                   built_at as built
            from staging.base_months
        ),
        now_base as (select registry_id, period, max(built) as built from bases group by 1, 2),
        built as (
            select registry_id, {{ period_column }} as period, min(_built_at) as built
            from {{ this }}
            group by 1, 2
        )
        select coalesce(now_base.registry_id, built.registry_id),
               cast(coalesce(now_base.period, built.period) as varchar)
        from now_base
        full outer join built
            on built.registry_id = now_base.registry_id and built.period = now_base.period
        where built.built is null or now_base.built is null or now_base.built >= built.built
        order by 1, 2
    {%- endset -%}
    {%- set rows = run_query(sql).rows -%}
    {{ return(rows | map('list') | list) }}
{%- endmacro %}


{# A predicate for the rows of the changed (registry, period)s; true on a full build. #}
{% macro in_changed_registry_periods(changed, date_column, grain) -%}
    {%- if not incremental_run() -%}
        true
    {%- elif not changed -%}
        false
    {%- else -%}
        ({%- for registry, p in changed -%}
            (registry_id = '{{ registry }}'
             {%- if p == '0001-01-01' %} and {{ date_column }} is null
             {%- else %} and {{ date_column }} >= cast('{{ p }}' as date)
             and {{ date_column }} < cast({{ dbt.dateadd(grain, 1, "cast('" ~ p ~ "' as date)") }} as date)
             {%- endif -%})
            {%- if not loop.last %} or {% endif -%}
        {%- endfor -%})
    {%- endif -%}
{%- endmacro %}


{# pre-hook of an aggregate: drop the (registry, period)s about to be rebuilt #}
{% macro delete_changed_registry_periods(period_column, grain) -%}
    {%- set changed = changed_registry_periods(period_column, grain) -%}
    {%- if changed -%}
        delete from {{ this }} where
        {%- for registry, p in changed %}
            (registry_id = '{{ registry }}' and {{ period_column }} = cast('{{ p }}' as date))
            {%- if not loop.last %} or{% endif -%}
        {%- endfor -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# The base tables' month column gets an index on PostgreSQL, so the counts read a changed month
   or year without scanning the table (DuckDB's zone maps do this without one) #}
{% macro base_indexes(date_column) -%}
    {%- if target.type == 'postgres' and date_column -%}
        {{ return([{'columns': [date_column]}]) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}
