-- one row per key: the latest version of it in raw
select
    'njur' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.arsdatum as event_date,
    l.registreringsdatum as registration_date,
    l.modalitet,
    nullif(l.access, '9') as access,
    l._file_id,
    l._row_number
from {{ ref('base_njur__prevalens') }} as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'njur'
