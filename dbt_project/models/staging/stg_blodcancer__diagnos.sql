-- one row per key: the latest version of it in raw
select
    'blodcancer' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.diagnosdatum as event_date,
    l.registreringsdatum as registration_date,
    l.diagnos,
    l.valgrundad_misstanke,
    l.behandlingsstart,
    nullif(l.mdk, '9') as mdk,
    nullif(l.kontaktsjukskoterska, '9') as kontaktsjukskoterska,
    l.lpk,
    l._file_id,
    l._row_number
from {{ ref('base_blodcancer__diagnos') }} as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'blodcancer'
