{#
  The latest version of every key of a raw table, kept as an incremental table whose nightly cost
  follows the months that changed (docs/decisions/0012).

  Every row carries its event month (_event_month) and, as a fingerprint of what the month held in raw
  when it was built, the month's raw row count (_month_raw_rows) beside the rows' _loaded_at. A
  month is rebuilt when raw's count or latest _loaded_at for it differs from the stored one: new
  files raise _loaded_at (loads only move forward in time), opt-outs and replaced files change the
  count or _loaded_at, and a month that vanished from raw is only in the stored side. Rebuilding a
  month deletes its rows (pre-hook) and appends the month's latest rows again.
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


{# The months whose raw rows differ from what the incremental table was built from, as ISO dates;
   empty when the table does not exist yet or on a full refresh (everything is built then). #}
{% macro changed_periods(relation, date_column) -%}
    {%- if not execute or not incremental_run() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set sql -%}
        with now_raw as (
            select {{ period_of(date_column) }} as period, count(*) as n, max(_loaded_at) as loaded
            from {{ relation }}
            group by 1
        ),
        built as (
            select _event_month as period, max(_month_raw_rows) as n, max(_loaded_at) as loaded
            from {{ this }}
            group by 1
        )
        select cast(coalesce(now_raw.period, built.period) as varchar) as period
        from now_raw
        full outer join built on built.period = now_raw.period
        where now_raw.n is distinct from built.n or now_raw.loaded is distinct from built.loaded
        order by 1
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values() | list) }}
{%- endmacro %}


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


{# The months each base table rebuilt and when: the incremental counts read this small table
   instead of scanning every base table (decision 0012). Created by on-run-start. #}
{% macro create_base_months() -%}
    create table if not exists staging.base_months (
        registry_id varchar(32) not null,
        base_table varchar(200) not null,
        event_month date not null,
        built_at timestamp not null
    )
{%- endmacro %}


{# pre-hook of a base table: drop the months about to be rebuilt, and record them as rebuilt now
   (on a full build: every month raw holds) #}
{% macro delete_changed_periods(relation, date_column) -%}
    {%- set registry = this.identifier[5:].split('__')[0] -%}
    {%- set name = this.identifier -%}
    {%- if incremental_run() -%}
        {%- set periods = changed_periods(relation, date_column) -%}
        {%- if periods -%}
            {%- set in_list -%}
                ({%- for p in periods -%}cast('{{ p }}' as date){% if not loop.last %}, {% endif %}{%- endfor -%})
            {%- endset -%}
            delete from {{ this }} where _event_month in {{ in_list }};
            delete from staging.base_months where base_table = '{{ name }}' and event_month in {{ in_list }};
            insert into staging.base_months
            {% for p in periods -%}
                select '{{ registry }}', '{{ name }}', cast('{{ p }}' as date), cast(current_timestamp as timestamp)
                {% if not loop.last %}union all {% endif %}
            {%- endfor %}
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


{% macro latest_rows(relation, keys, date_column) -%}
{%- if date_column and date_column not in keys -%}
    {{ exceptions.raise_compiler_error(
        "latest_rows(" ~ relation ~ "): the month column " ~ date_column ~ " must be one of the key "
        ~ "columns " ~ keys ~ ", or one key's versions could sit in two months; pass none to "
        ~ "rebuild the table as one unit") }}
{%- endif -%}
{%- set periods = changed_periods(relation, date_column) -%}
with changed as (
    select * from {{ relation }}
    {% if is_incremental() %}where {{ in_periods(date_column, periods) }}{% endif %}
),

fingerprint as (
    select {{ period_of(date_column) }} as _event_month, count(*) as _month_raw_rows
    from changed
    group by 1
),

ranked as (
    select c.*, row_number() over (
        partition by {{ keys | join(', ') }} order by _loaded_at desc, _file_id desc, _row_number
    ) as _version_rank
    from changed as c
)

select r.*, f._event_month, f._month_raw_rows, cast(current_timestamp as timestamp) as _built_at
from ranked as r
inner join fingerprint as f on f._event_month = {{ period_of('r.' ~ date_column if date_column else none) }}
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
