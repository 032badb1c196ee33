{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'swedvasc__operation'), 'operationsdatum') }}") }}
{{ latest_rows(source('raw', 'swedvasc__operation'), ['person_id', 'operationsdatum', 'ingreppstyp'], 'operationsdatum') }}
