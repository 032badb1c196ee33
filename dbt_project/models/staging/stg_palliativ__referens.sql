-- one row per key: the latest version of it in raw
select
    'palliativ' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.handelsedatum as event_date,
    l._file_id,
    l._row_number
from {{ ref('base_palliativ__referens') }} as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'palliativ'
