-- one row per key: the latest version of it in raw
select
    'swedvasc' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.operationsdatum as event_date,
    l.registreringsdatum as registration_date,
    l.ingreppstyp,
    l.symtomatisk,
    l.symtomdatum,
    l.elektiv,
    l.dodsdatum,
    l.vikt_kg,
    l._file_id,
    l._row_number
from {{ ref('base_swedvasc__operation') }} as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'swedvasc'
