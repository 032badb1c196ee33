{{ config(pre_hook="{{ delete_changed_periods(source('raw', 'palliativ__dodsfall'), 'dodsdatum') }}") }}
{{ latest_rows(source('raw', 'palliativ__dodsfall'), ['person_id', 'dodsdatum'], 'dodsdatum') }}
