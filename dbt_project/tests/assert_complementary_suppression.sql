-- No group whose total is published has exactly one suppressed cell: units within a region
-- (total: the region row), regions within the country (total: the national row).
with cells as (
    select indicator_id, period_grain, period_start, level, region_code, suppressed
    from {{ ref('pub_indicator_values') }}
),

unit_groups as (
    select indicator_id, period_grain, period_start, region_code as grp,
           sum(case when suppressed then 1 else 0 end) as n_suppressed
    from cells where level = 'unit'
    group by 1, 2, 3, 4
),

region_groups as (
    select indicator_id, period_grain, period_start, 'national' as grp,
           sum(case when suppressed then 1 else 0 end) as n_suppressed
    from cells where level = 'region'
    group by 1, 2, 3, 4
)

select g.*
from unit_groups as g
inner join cells as t
    on t.level = 'region' and t.region_code = g.grp and t.indicator_id = g.indicator_id
    and t.period_grain = g.period_grain and t.period_start = g.period_start
where g.n_suppressed = 1 and not t.suppressed
union all
select g.*
from region_groups as g
inner join cells as t
    on t.level = 'national' and t.indicator_id = g.indicator_id
    and t.period_grain = g.period_grain and t.period_start = g.period_start
where g.n_suppressed = 1 and not t.suppressed
