{{ config(pre_hook=["{{ take_changed_periods(source('raw', 'swedvasc__operation'), 'operationsdatum') }}", "{{ delete_changed_periods(source('raw', 'swedvasc__operation'), 'operationsdatum') }}"],
          indexes=base_indexes('operationsdatum')) }}
{{ latest_rows(source('raw', 'swedvasc__operation'), ['person_id', 'operationsdatum', 'ingreppstyp'], 'operationsdatum') }}
