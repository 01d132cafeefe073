import django_filters
from django import forms
from django.db.models import Q

from reviewmgr.models import AuditEvent, ImportBatch, Record, Review, User


class RecordFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Text")
    year_min = django_filters.NumberFilter(field_name="year", lookup_expr="gte", label="From year")
    year_max = django_filters.NumberFilter(field_name="year", lookup_expr="lte", label="To year")
    source = django_filters.ChoiceFilter(
        field_name="batch__source", choices=ImportBatch.Source.choices, label="Source"
    )
    type = django_filters.ChoiceFilter(choices=Record.Type.choices, label="Type")
    show = django_filters.ChoiceFilter(
        method="filter_duplicates",
        label="Duplicates",
        empty_label="Hide removed duplicates",
        choices=[("all", "Show every record"), ("duplicates", "Only removed duplicates")],
    )

    class Meta:
        model = Record
        fields = ["q", "year_min", "year_max", "source", "type", "show"]

    @property
    def qs(self):
        queryset = super().qs
        if not self.form.cleaned_data.get("show"):
            queryset = queryset.primaries()
        return queryset

    def filter_duplicates(self, queryset, name, value):
        return queryset.removed_duplicates() if value == "duplicates" else queryset

    def search(self, queryset, name, value):
        """Title, abstract, journal, DOI or PMID; authors are searched in their stored text."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(abstract__icontains=value)
            | Q(journal__icontains=value)
            | Q(doi__iexact=value.lower())
            | Q(pmid=value)
            | Q(authors__icontains=value)
        )


class AuditEventFilter(django_filters.FilterSet):
    """The audit log by kind of work, person and day (days in the site's time zone)."""

    group = django_filters.ChoiceFilter(
        choices=AuditEvent.GROUPS, method="filter_group", label="What", empty_label="Everything"
    )
    actor = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(),
        label="Who",
        empty_label="Anyone",
        null_label=f"{AuditEvent.SYSTEM_ACTOR} (automatic)",
    )
    start = django_filters.DateFilter(
        field_name="at",
        lookup_expr="date__gte",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = django_filters.DateFilter(
        field_name="at",
        lookup_expr="date__lte",
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ["group", "actor", "start", "end"]

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, **kwargs)
        # Members, and former members who still appear in the log.
        self.filters["actor"].queryset = (
            User.objects.filter(
                Q(memberships__review=review) | Q(pk__in=review.audit_events.values("actor_id"))
            )
            .distinct()
            .order_by("username")
        )

    def filter_group(self, queryset, name, value):
        return queryset.in_group(value) if value else queryset
