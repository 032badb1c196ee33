-- How much of each indicator the disclosure layer hides, per grain and period. For the registry
-- managers: where most of an indicator is hidden, the published figures say little and a coarser
-- grain says more. Not why: a group whose hidden cells were all primary would tell that each of
-- them holds a small count (an outside review pinned hundreds of counts to 1..4 that way).
select
    cast(d.registry_id as varchar(32)) as registry_id,
    cast(d.indicator_id as varchar(64)) as indicator_id,
    cast(d.period_grain as varchar(12)) as period_grain,
    d.period_start,
    cast(count(*) as bigint) as cells,
    cast(sum(case when d.num_hidden then 1 else 0 end) as bigint) as hidden,
    cast(100.0 * sum(case when d.num_hidden then 1 else 0 end) / count(*) as double precision)
        as hidden_pct
from {{ source('disclosure', 'disclosure_cells') }} as d
group by d.registry_id, d.indicator_id, d.period_grain, d.period_start
