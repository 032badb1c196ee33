-- trycksar_fri: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'trycksar_fri' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(vantat_dodsfall = '1' and trycksar_grad is not null, false) as is_eligible,
    coalesce((vantat_dodsfall = '1' and trycksar_grad is not null) and (trycksar_grad in ('0', '1')), false) as is_met
from {{ ref('stg_palliativ__dodsfall') }}
