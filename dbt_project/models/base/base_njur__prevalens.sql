{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'njur__prevalens'), 'arsdatum') }}", "{{ delete_changed_periods(source('raw', 'njur__prevalens'), 'arsdatum') }}"],
          indexes=base_indexes('arsdatum')) }}
{{ latest_rows(source('raw', 'njur__prevalens'), ['person_id', 'arsdatum'], 'arsdatum') }}
