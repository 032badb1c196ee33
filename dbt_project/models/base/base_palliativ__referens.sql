{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'palliativ__referens'), 'handelsedatum') }}") }}
{{ latest_rows(source('raw', 'palliativ__referens'), ['person_id', 'handelsedatum'], 'handelsedatum') }}
