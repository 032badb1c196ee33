-- aaa_mort_30d: one row per registration, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'aaa_mort_30d' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(ingreppstyp = 'AAA' and elektiv = '1', false) as is_eligible,
    coalesce((ingreppstyp = 'AAA' and elektiv = '1') and (dodsdatum is not null and {{ dbt.datediff('event_date', 'dodsdatum', 'day') }} <= 30), false) as is_met
from {{ ref('stg_swedvasc__operation') }}
