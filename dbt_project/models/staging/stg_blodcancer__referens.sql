with latest as (
    {{ latest_per_key(source('raw', 'blodcancer__referens'), ['person_id', 'handelsedatum']) }}
)

select
    'blodcancer' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.handelsedatum as event_date,
    l._file_id,
    l._row_number
from latest as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'blodcancer'
