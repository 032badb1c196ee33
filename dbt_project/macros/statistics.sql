{# The normal quantiles the marts use, exact to double precision (scipy.stats.norm.ppf; DOMAIN.md:
   "quantiles are exact, written once"), and written only here: 0.975 for 95 % intervals and the
   funnels' 95 % limits, 0.999 for their 99.8 % limits, 0.05 for Anhøj's crossings beyond the
   exception table. The rounded 1.959964 / 3.090232 used before moved limits by up to 5e-8.
   Cast from text: both warehouses read a decimal string as the nearest double, which a numeric
   literal with more than 15 digits does not guarantee (DuckDB reads it as a DECIMAL first). #}
{% macro normal_quantile(p) -%}
    {%- set quantiles = {
        '0.975': '1.959963984540054',
        '0.999': '3.090232306167813',
        '0.05': '-1.6448536269514729',
    } -%}
    {%- if p not in quantiles -%}
        {{ exceptions.raise_compiler_error("normal_quantile: no quantile for p = " ~ p ~ " (have " ~ quantiles.keys() | list ~ ")") }}
    {%- endif -%}
    cast('{{ quantiles[p] }}' as double precision)
{%- endmacro %}

{# Wilson score interval, 95 % (DOMAIN.md). #}
{% macro wilson_low(num, den, z=none) -%}
    {%- set z = z or normal_quantile('0.975') -%}
    case when {{ den }} > 0 then
        (({{ num }} * 1.0 / {{ den }}) + {{ z }} * {{ z }} / (2.0 * {{ den }})) / (1 + {{ z }} * {{ z }} / {{ den }})
        - {{ z }} / (1 + {{ z }} * {{ z }} / {{ den }})
          * sqrt(({{ num }} * 1.0 / {{ den }}) * (1 - {{ num }} * 1.0 / {{ den }}) / {{ den }}
                 + {{ z }} * {{ z }} / (4.0 * {{ den }} * {{ den }}))
    end
{%- endmacro %}

{% macro wilson_high(num, den, z=none) -%}
    {%- set z = z or normal_quantile('0.975') -%}
    case when {{ den }} > 0 then
        (({{ num }} * 1.0 / {{ den }}) + {{ z }} * {{ z }} / (2.0 * {{ den }})) / (1 + {{ z }} * {{ z }} / {{ den }})
        + {{ z }} / (1 + {{ z }} * {{ z }} / {{ den }})
          * sqrt(({{ num }} * 1.0 / {{ den }}) * (1 - {{ num }} * 1.0 / {{ den }}) / {{ den }}
                 + {{ z }} * {{ z }} / (4.0 * {{ den }} * {{ den }}))
    end
{%- endmacro %}

{# Target level the way Vården i siffror shows it: reached the high level, between, below the low. #}
{% macro target_level(rate, direction, high, low) -%}
    case
        when {{ rate }} is null then null
        when {{ direction }} = 'higher' and {{ rate }} >= {{ high }} then 'high'
        when {{ direction }} = 'higher' and {{ rate }} >= {{ low }} then 'between'
        when {{ direction }} = 'higher' then 'low'
        when {{ rate }} <= {{ high }} then 'high'
        when {{ rate }} <= {{ low }} then 'between'
        else 'low'
    end
{%- endmacro %}

{# A cell that would disclose a count of 1..k-1: numerator, denominator or complement (DOMAIN.md).
   Inputs may be expressions: each is bracketed, or `a - b + c` would subtract the wrong thing. #}
{% macro small_cell(num, den, k=none) -%}
    {%- set k = k or var('suppression_k') -%}
    coalesce(({{ num }}) between 1 and {{ k - 1 }}
        or ({{ den }}) between 1 and {{ k - 1 }}
        or (({{ den }}) - ({{ num }})) between 1 and {{ k - 1 }}, false)
{%- endmacro %}
