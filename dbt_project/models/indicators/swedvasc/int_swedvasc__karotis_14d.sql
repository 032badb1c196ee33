-- karotis_14d: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'karotis_14d' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(ingreppstyp = 'KAROTIS' and symtomatisk = '1' and symtomdatum is not null, false) as is_eligible,
    coalesce((ingreppstyp = 'KAROTIS' and symtomatisk = '1' and symtomdatum is not null) and ({{ dbt.datediff('symtomdatum', 'event_date', 'day') }} <= 14), false) as is_met
from {{ ref('stg_swedvasc__operation') }}
