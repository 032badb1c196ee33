-- Units whose numbers a warning check of the latest warehouse run doubts (a registration
-- collapse, low coverage, late registration, a variable left empty): the publication flags their
-- indicator values instead of hiding them (issue 4: "a warning flags the affected indicators"),
-- for the periods the check looked at. A check's period reads 2025, 2025-08..2025-10 or
-- 2025-01-01..2025-12-31; it becomes [period_from, period_until).
with latest as (
    select registry_id, max(checked_at) as checked_at
    from {{ source('ops', 'dq_results') }}
    where stage = 'warehouse'
    group by registry_id
),

failed as (
    select distinct
        r.registry_id,
        r.unit_id,
        r.check_name || case when r.column_name is null then '' else ':' || r.column_name end
            as check_label,
        r.period
    from {{ source('ops', 'dq_results') }} as r
    inner join latest as l on l.registry_id = r.registry_id and l.checked_at = r.checked_at
    where r.stage = 'warehouse' and r.status = 'failed' and r.unit_id is not null
        and r.period is not null
)

select
    registry_id,
    unit_id,
    cast(check_label as varchar(120)) as check_label,
    cast(case
        when length(period) = 4 then period || '-01-01'
        when length(period) = 16 then substr(period, 1, 7) || '-01'
        else substr(period, 1, 10)
    end as date) as period_from,
    case
        when length(period) = 4
            then cast(cast(cast(period as integer) + 1 as varchar(4)) || '-01-01' as date)
        when length(period) = 16 then cast(cast(substr(period, 10, 7) || '-01' as date)
                                           + interval '1 month' as date)
        else cast(cast(substr(period, 13, 10) as date) + interval '1 day' as date)
    end as period_until
from failed
