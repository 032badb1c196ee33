-- Coverage (täckningsgrad) per unit and region and year; small A/B/C counts suppressed.
{% set k = var('suppression_k') %}
select
    cast(c.registry_id as varchar(32)) as registry_id,
    cast(c.level as varchar(8)) as level,
    cast(c.unit_id as varchar(64)) as unit_id,
    cast(u.unit_name as varchar(200)) as unit_name,
    cast(c.region_code as varchar(6)) as region_code,
    c.event_year,
    case when c.only_registry between 1 and {{ k - 1 }} then null else c.only_registry end
        as only_registry,
    case when c.only_reference between 1 and {{ k - 1 }} then null else c.only_reference end
        as only_reference,
    case when c.in_both between 1 and {{ k - 1 }} then null else c.in_both end as in_both,
    case when {{ small_cell('c.only_registry + c.in_both',
                            'c.only_registry + c.only_reference + c.in_both') }}
        then null else c.coverage end as coverage,
    {{ small_cell('c.only_registry + c.in_both', 'c.only_registry + c.only_reference + c.in_both') }}
        as suppressed
from {{ ref('fct_coverage') }} as c
left join {{ ref('dim_unit') }} as u on u.unit_id = c.unit_id and u.registry_id = c.registry_id
