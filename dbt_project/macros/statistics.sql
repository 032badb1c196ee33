{# Wilson score interval, 95 % (DOMAIN.md): z = 1.959964. #}
{% macro wilson_low(num, den, z=1.959964) -%}
    case when {{ den }} > 0 then
        (({{ num }} * 1.0 / {{ den }}) + {{ z }} * {{ z }} / (2.0 * {{ den }})) / (1 + {{ z }} * {{ z }} / {{ den }})
        - {{ z }} / (1 + {{ z }} * {{ z }} / {{ den }})
          * sqrt(({{ num }} * 1.0 / {{ den }}) * (1 - {{ num }} * 1.0 / {{ den }}) / {{ den }}
                 + {{ z }} * {{ z }} / (4.0 * {{ den }} * {{ den }}))
    end
{%- endmacro %}

{% macro wilson_high(num, den, z=1.959964) -%}
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
