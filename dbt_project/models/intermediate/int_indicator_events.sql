-- Every indicator's patient-level flags in one relation: one model per row of seeds/indicators.csv,
-- models/indicators/<registry>/int_<registry>__<indicator>.sql (macros/registry_unions.sql).
{{ union_indicator_models() }}
