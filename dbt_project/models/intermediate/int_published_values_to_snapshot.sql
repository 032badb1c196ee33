-- What the snapshot of published values compares (decision 0016): the rows of
-- pub_indicator_values rebuilt since the snapshot last recorded a change. A row not rebuilt has
-- the values the snapshot already holds; comparing all of them each night grew with history.
-- A night whose snapshot failed or found nothing leaves the bound where it was, so its rows are
-- compared again the next night. Built with the publication layer (it depends on it).
{{ config(materialized='view') }}
{%- set snapshot = adapter.get_relation(database=target.database, schema='snapshots',
                                        identifier='snap_pub_indicator_values') if execute else none %}
select *
from {{ ref('pub_indicator_values') }}
{%- if snapshot %}
where _built_at >= (select coalesce(max(dbt_updated_at), cast('0001-01-01' as timestamp))
                    from {{ snapshot }})
{%- endif %}
