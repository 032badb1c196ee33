-- one row per key: the latest version of it in raw
select
    'njur' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.startdatum as event_date,
    l.registreringsdatum as registration_date,
    l.forsta_modalitet,
    nullif(l.forsta_access, '9') as forsta_access,
    l.egfr_vid_start,
    l._file_id,
    l._row_number
from {{ ref('base_njur__start') }} as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'njur'
