with latest as (
    {{ latest_per_key(source('raw', 'blodcancer__diagnos'), ['person_id', 'diagnosdatum', 'diagnos']) }}
)

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
from latest as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'blodcancer'
