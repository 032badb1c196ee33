{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'swedvasc__referens'), 'handelsedatum') }}") }}
{{ latest_rows(source('raw', 'swedvasc__referens'), ['person_id', 'handelsedatum'], 'handelsedatum') }}
