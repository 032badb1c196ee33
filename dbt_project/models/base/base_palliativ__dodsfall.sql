{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'palliativ__dodsfall'), 'dodsdatum') }}", "{{ delete_changed_periods(source('raw', 'palliativ__dodsfall'), 'dodsdatum') }}"],
          indexes=base_indexes('dodsdatum')) }}
{{ latest_rows(source('raw', 'palliativ__dodsfall'), ['person_id', 'dodsdatum'], 'dodsdatum') }}
