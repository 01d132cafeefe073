from django import template

from extraction import rob

register = template.Library()


@register.filter
def number_part(value):
    """The number of a stored decimal, whether plain or {"value": x, "unit": u}."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return value


@register.filter
def unit_part(value):
    return value.get("unit", "") if isinstance(value, dict) else ""


@register.filter
def contains(values, item) -> bool:
    return item in (values or [])


@register.filter
def dom_id(name: str) -> str:
    return "f-" + "".join(c if c.isalnum() else "-" for c in name)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, key)


@register.filter
def overall_label(risk) -> str:
    """A saved risk-of-bias assessment's overall judgement as people write it ("Some
    concerns", not the stored "some_concerns")."""
    tool = rob.TOOLS.get(risk.tool)
    if tool is None:
        return risk.overall
    return tool.judgement_labels.get(risk.overall, risk.overall)


@register.filter
def tool_name(key: str) -> str:
    tool = rob.TOOLS.get(key)
    return tool.name if tool else key
