-- Every indicator's patient-level flags in one relation (one model per indicator upstream).
select * from {{ ref('int_blodcancer__kontaktssk') }}
union all
select * from {{ ref('int_blodcancer__ledtid_svf') }}
union all
select * from {{ ref('int_blodcancer__mdk') }}
union all
select * from {{ ref('int_njur__avf_vid_hd_start') }}
union all
select * from {{ ref('int_njur__cvk_prevalent') }}
union all
select * from {{ ref('int_njur__pd_vid_start') }}
union all
select * from {{ ref('int_palliativ__brytpunktssamtal') }}
union all
select * from {{ ref('int_palliativ__munhalsa') }}
union all
select * from {{ ref('int_palliativ__smartskattning') }}
union all
select * from {{ ref('int_palliativ__trycksar_fri') }}
union all
select * from {{ ref('int_palliativ__vid_behov_angest') }}
union all
select * from {{ ref('int_palliativ__vid_behov_opioid') }}
union all
select * from {{ ref('int_swedvasc__aaa_mort_30d') }}
union all
select * from {{ ref('int_swedvasc__karotis_14d') }}
