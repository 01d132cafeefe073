import django_filters
from django.db.models import Q

from reviewmgr.models import ImportBatch, Record


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
            queryset = queryset.unique()
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
