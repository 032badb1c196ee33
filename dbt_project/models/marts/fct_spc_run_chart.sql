-- Anhøj's run-chart rules per unit and indicator over its monthly rates: points on the median
-- don't count; a too-long run or too few crossings of the median signals non-random variation.
-- Over the published months only, like the p-chart.
-- Thresholds for any number n of useful points (qicharts2): longest run > round(log2(n) + 3),
-- crossings < the 5th percentile of Binomial(n − 1, 0.5). Neither warehouse has a binomial
-- quantile, so the crossings come from the normal approximation with continuity correction,
-- ceil((n − 1)/2 + z₀.₀₅·√(n − 1)/2 − 0.5), and from the seed anhoej_exceptions for the lengths
-- where that is one too low: exact for every n up to 1 000 000 (decision 0019). A series longer
-- than the old seed's 300 points no longer gets NULL thresholds and so no signal.
with monthly as (
    select registry_id, indicator_id, unit_id, period_start, rate
    from {{ ref('disclosed_indicator_values') }}
    where level = 'unit' and period_grain = 'month' and not suppressed and denominator > 0
),

medians as (
    select indicator_id, unit_id,
           percentile_cont(0.5) within group (order by rate) as median_rate,
           count(*) as n_points
    from monthly
    group by 1, 2
),

useful as (
    select m.*, d.median_rate, d.n_points,
           case when m.rate > d.median_rate then 1 else -1 end as side
    from monthly as m
    inner join medians as d using (indicator_id, unit_id)
    where m.rate <> d.median_rate
),

sequenced as (
    select *,
        row_number() over (partition by indicator_id, unit_id order by period_start)
        - row_number() over (partition by indicator_id, unit_id, side order by period_start) as run_id,
        case when side <> lag(side) over (partition by indicator_id, unit_id order by period_start)
             then 1 else 0 end as is_crossing
    from useful
),

runs as (
    select indicator_id, unit_id, side, run_id, count(*) as run_length
    from sequenced
    group by 1, 2, 3, 4
),

summary as (
    select
        s.registry_id, s.indicator_id, s.unit_id, s.median_rate, s.n_points,
        cast(count(*) as bigint) as n_useful,
        cast(sum(s.is_crossing) as bigint) as crossings
    from sequenced as s
    group by 1, 2, 3, 4, 5
),

longest as (
    select indicator_id, unit_id, cast(max(run_length) as bigint) as longest_run
    from runs
    group by 1, 2
),

thresholds as (
    select
        s.indicator_id,
        s.unit_id,
        cast(coalesce(t.longest_run_max,
                      round(ln(cast(s.n_useful as double precision)) / ln(cast(2 as double precision)) + 3))
             as bigint) as longest_run_max,
        cast(coalesce(t.crossings_min,
                      ceil(cast(s.n_useful - 1 as double precision) / 2
                           + {{ normal_quantile('0.05') }} * sqrt(cast(s.n_useful - 1 as double precision)) / 2
                           - 0.5))
             as bigint) as crossings_min
    from summary as s
    left join {{ ref('anhoej_exceptions') }} as t on t.n_useful = s.n_useful
)

select
    s.registry_id,
    s.indicator_id,
    s.unit_id,
    s.median_rate,
    s.n_points,
    s.n_useful,
    l.longest_run,
    t.longest_run_max,
    s.crossings,
    t.crossings_min,
    l.longest_run > t.longest_run_max as run_signal,
    s.crossings < t.crossings_min as crossing_signal,
    l.longest_run > t.longest_run_max or s.crossings < t.crossings_min as non_random
from summary as s
inner join longest as l using (indicator_id, unit_id)
inner join thresholds as t using (indicator_id, unit_id)
