import django_filters
from django.db.models import Q

from screening.models import Decision, Verdict


class DecisionFilter(django_filters.FilterSet):
    verdict = django_filters.ChoiceFilter(choices=Verdict.choices)
    reason = django_filters.CharFilter(lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    q = django_filters.CharFilter(method="filter_text", label="Text")

    class Meta:
        model = Decision
        fields = ["verdict", "reason", "tag", "q"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__icontains=value.strip()) if value.strip() else queryset

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(record__title__icontains=value)
            | Q(record__abstract__icontains=value)
            | Q(note__icontains=value)
        )
