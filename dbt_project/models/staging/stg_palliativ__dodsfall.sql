-- one row per key: the latest version of it in raw
select
    'palliativ' as registry_id,
    l.person_id,
    l.pnr_kind,
    l.birth_year,
    l.sex,
    l.enhetskod as unit_id,
    u.region_code,
    l.dodsdatum as event_date,
    l.registreringsdatum as registration_date,
    nullif(l.vantat_dodsfall, '9') as vantat_dodsfall,
    nullif(l.brytpunktssamtal, '9') as brytpunktssamtal,
    nullif(l.smartskattning, '9') as smartskattning,
    nullif(l.munhalsa, '9') as munhalsa,
    nullif(l.vid_behov_opioid, '9') as vid_behov_opioid,
    nullif(l.vid_behov_angest, '9') as vid_behov_angest,
    nullif(l.trycksar_grad, '9') as trycksar_grad,
    l._file_id,
    l._row_number
from {{ ref('base_palliativ__dodsfall') }} as l
left join {{ ref('units') }} as u
    on u.unit_id = l.enhetskod and u.registry_id = 'palliativ'
