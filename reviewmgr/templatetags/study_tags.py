"""The "study and its reports" panel, shown wherever a lead looks at a record: the record's
page, the full-text screen and the extraction form."""

from django import template

from reviewmgr import studies
from reviewmgr.models import Record

register = template.Library()


@register.inclusion_tag("reviewmgr/_study_reports.html", takes_context=True)
def study_reports(context, record: Record, suggest: bool = True) -> dict:
    """Reports of the record's study, and for a lead the link and unlink forms with
    suggestions. Costs a few queries, and a comparison of titles within a few years of the
    record when suggestions are asked for (leads only)."""
    review = context["review"]
    request = context["request"]
    first = Record.objects.get(pk=studies.study_key(record))
    is_lead = review.membership.is_lead
    return {
        "review": review,
        "record": record,
        "study_id": studies.study_id(first.pk),
        "reports": studies.reports_of(first),
        "suggestions": studies.suggest_reports(record) if is_lead and suggest else [],
        "is_lead": is_lead,
        # a panel drawn in answer to a POST (an htmx decision) sends the lead back to the page
        "next": request.get_full_path() if request.method == "GET" else record.get_absolute_url(),
        "csrf_token": context.get("csrf_token"),
    }
