-- What the snapshot of published values compares (decision 0016): the rows of
-- pub_indicator_values rebuilt since the snapshot last ran to the end. A row not rebuilt has the
-- values the snapshot already holds; comparing all of them each night grew with history. A night
-- whose snapshot failed leaves the bound where it was, so its rows are compared the next night.
-- Built with the publication layer (it depends on it).
{{ config(materialized='view') }}
select *
from {{ ref('pub_indicator_values') }}
where _built_at >= (select coalesce(max(ran_at), cast('0001-01-01' as timestamp))
                    from staging.snapshot_runs
                    where snapshot = 'snap_pub_indicator_values')
