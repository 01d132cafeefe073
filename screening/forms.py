from django import forms

from reviewmgr.forms import split_keywords
from screening import services
from screening.models import ScreeningConfig, Verdict


class DecisionForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices)
    reason = forms.CharField(max_length=200, required=False)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(required=False, max_length=500, help_text="Comma-separated.")

    def clean_tags(self) -> list[str]:
        return split_keywords(self.cleaned_data["tags"])


class ResolutionForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect)
    reason = forms.CharField(max_length=200, required=False)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ScreeningConfigForm(forms.ModelForm):
    retrain_every = forms.IntegerField(
        min_value=1,
        max_value=100,
        label="Retrain the ranking after every",
        help_text="Decisions at title/abstract (1–100). The queue is reordered in the background.",
    )
    exploration = forms.FloatField(
        min_value=0,
        max_value=0.5,
        label="Exploration",
        help_text="Share of queue places given to a random record (0–0.5; 0.05 is one in twenty).",
    )
    exclusion_reasons = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One per line. Reviewers pick one when they exclude; keys 1–9 choose them.",
    )

    class Meta:
        model = ScreeningConfig
        fields = [
            "reviewers_required",
            "blind",
            "maybe_advances",
            "exclusion_reasons",
            "reasons_required_at_title_abstract",
            "full_text_reasons_must_agree",
            "order",
            "retrain_every",
            "exploration",
        ]
        widgets = {"reviewers_required": forms.Select(choices=[(1, "1"), (2, "2"), (3, "3")])}
        labels = {
            "order": "Queue order",
            "reasons_required_at_title_abstract": (
                "Require a reason for exclusions at title/abstract too"
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["exclusion_reasons"] = "\n".join(self.instance.exclusion_reasons or [])

    def clean_exclusion_reasons(self) -> list[str]:
        text = self.cleaned_data["exclusion_reasons"]
        reasons = []
        for line in text.splitlines():
            if line.strip() and line.strip() not in reasons:
                reasons.append(line.strip()[:200])
        return reasons


class FullTextForm(forms.Form):
    pdf = forms.FileField(required=False, label="PDF of the full text")
    not_retrieved = forms.BooleanField(required=False, label="Could not be obtained")
    note = forms.CharField(required=False, max_length=500)

    def clean_pdf(self):
        upload = self.cleaned_data.get("pdf")
        if upload is None:
            return upload
        services.check_pdf(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("pdf") and not cleaned.get("not_retrieved"):
            raise forms.ValidationError(
                "Upload the PDF, or mark the full text as not obtainable.", code="nothing"
            )
        return cleaned


class StoppingForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Note for the log",
        help_text="Why the team decided this (kept in the log with the estimate).",
        error_messages={"max_length": "The note is too long (2,000 characters at most)."},
    )

    def __init__(self, *args, note_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.note_required = note_required

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if self.note_required and not note:
            raise forms.ValidationError(
                "Write a note for the log: why the team stops now. It is kept with the "
                "estimate for the methods section.",
                code="note_required",
            )
        return note
