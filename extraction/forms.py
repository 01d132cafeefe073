import json
import re

from django import forms

from extraction import schema, services
from extraction.models import ExtractionConfig, Template


class ExtractionSettingsForm(forms.ModelForm):
    class Meta:
        model = ExtractionConfig
        fields = ["template", "extractors_may_reconcile"]
        labels = {
            "template": "Extraction template",
            "extractors_may_reconcile": "Extractors may build the consensus too",
        }

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = services.templates_for(review)
        self.fields["template"].required = True


class NewTemplateForm(forms.Form):
    name = forms.CharField(max_length=200)
    copy_of = forms.ModelChoiceField(
        queryset=Template.objects.none(),
        required=False,
        empty_label="Start empty",
        label="Start from",
    )

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["copy_of"].queryset = services.templates_for(review)


class TemplateJsonForm(forms.Form):
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
        label="Definition (JSON)",
    )

    def clean_definition(self) -> dict:
        text = self.cleaned_data["definition"]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Line {error.lineno}, column {error.colno}: {error.msg}.", code="bad_json"
            ) from None
        try:
            schema.load_template(data)
        except schema.TemplateError as error:
            raise forms.ValidationError(error.problems, code="bad_template") from None
        return data


FIELD_TYPE_CHOICES = [
    ("short_text", "Short text"),
    ("long_text", "Long text"),
    ("integer", "Whole number"),
    ("decimal", "Decimal number (with unit)"),
    ("single_choice", "Single choice"),
    ("multiple_choice", "Multiple choice"),
    ("yes_no_unclear", "Yes / no / unclear"),
    ("date", "Date"),
    ("table", "Repeating table"),
]


class AddFieldForm(forms.Form):
    """One new field (or table column) appended to the current definition."""

    section = forms.CharField(
        max_length=100,
        help_text="An existing section's title or key, or a new title to start a section.",
    )
    table = forms.CharField(
        max_length=100, required=False, help_text="Add as a column of this table field (key)."
    )
    label = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=FIELD_TYPE_CHOICES)
    help = forms.CharField(max_length=500, required=False, label="Help text")
    required = forms.BooleanField(required=False)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Choice fields: one choice per line.",
    )
    units = forms.CharField(
        max_length=200,
        required=False,
        help_text="Decimal fields: one unit, or several separated by commas to choose from.",
    )
    columns = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Tables: one column per line as 'Label: type' (type as above, e.g. decimal).",
    )

    def __init__(self, *args, definition: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition

    def _field(self, label: str, type_: str, data: dict) -> dict:
        field = {"key": schema.key_from(label), "label": label, "type": type_}
        if data.get("help"):
            field["help"] = data["help"]
        if data.get("required"):
            field["required"] = True
        if type_ in ("single_choice", "multiple_choice"):
            lines = [c.strip() for c in (data.get("choices") or "").splitlines() if c.strip()]
            field["choices"] = [[schema.key_from(c), c] for c in lines]
        if type_ == "decimal" and data.get("units"):
            units = [u.strip() for u in data["units"].split(",") if u.strip()]
            if len(units) == 1:
                field["unit"] = units[0]
            else:
                field["units"] = units
        return field

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["type"] == "table":
            columns = []
            for number, line in enumerate((data.get("columns") or "").splitlines(), 1):
                if not line.strip():
                    continue
                label, _, type_ = line.partition(":")
                type_ = type_.strip() or "short_text"
                if type_ not in dict(FIELD_TYPE_CHOICES) or type_ == "table":
                    raise forms.ValidationError(
                        f"Column line {number}: '{type_}' is not a column type.", code="bad_type"
                    )
                columns.append(self._field(label.strip(), type_, {}))
            if not columns:
                raise forms.ValidationError("A table needs at least one column.", code="columns")
            data["columns_parsed"] = columns
        data["definition"] = self._definition_with_field(data)
        try:
            schema.load_template(data["definition"])
        except schema.TemplateError as error:
            raise forms.ValidationError(error.problems, code="bad_template") from None
        return data

    def _definition_with_field(self, data: dict) -> dict:
        definition = json.loads(json.dumps(self.definition))
        field = self._field(data["label"], data["type"], data)
        if data["type"] == "table":
            field["columns"] = data["columns_parsed"]
        wanted = data["section"].strip()
        sections = definition.setdefault("sections", [])
        section = next((s for s in sections if wanted in (s["key"], s["title"])), None)
        if section is None:
            section = {"key": schema.key_from(wanted), "title": wanted, "fields": []}
            sections.append(section)
        if data.get("table"):
            table = next((f for f in section["fields"] if f["key"] == data["table"]), None)
            if table is None or table.get("type") != "table":
                raise forms.ValidationError(
                    f"Section '{wanted}' has no table '{data['table']}'.", code="no_table"
                )
            table.setdefault("columns", []).append(field)
        else:
            section["fields"].append(field)
        return definition


WINDOW_LINE = re.compile(
    r"(?:(?P<label>[^:]+):\s*)?(?:day\s*)?(?P<centre>[+-]?\d+(?:\.\d+)?)"
    r"(?:\s*(?:±|\+/-|\+-)\s*(?P<half>\d+(?:\.\d+)?))?"
    r"(?:\s*days?)?(?:\s*(?:since|after)\s*(?:the\s*)?(?P<basis>injury|onset|prp))?",
    re.IGNORECASE,
)


def windows_text(windows: list) -> str:
    """The stored windows as the lines the settings form takes back."""
    lines = []
    for window in windows:
        label = f"{window['label']}: " if window.get("label") else ""
        half = f" ± {window['half_width']:g}" if window.get("half_width") else ""
        basis = "PRP" if window.get("basis") == "prp" else "injury"
        lines.append(f"{label}{window['centre']:g}{half} since {basis}")
    return "\n".join(lines)


class SynthesisSettingsForm(forms.ModelForm):
    """The lead's choices for the meta-analyses: estimator, shared controls, dichotomous
    measure and analysis windows. Windows are typed one per line, e.g. 'Day 14: 14 ± 3 since
    injury'."""

    windows = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Analysis windows",
        help_text="One per line: an optional name, the day, ± a half-width in days, and since "
        "injury (or onset) or since PRP, e.g. 'Early: 7 ± 2 since injury', '14 ± 3 since "
        "injury', '180 ± 30 since PRP'. Without windows, each exact day is its own analysis.",
    )

    class Meta:
        model = ExtractionConfig
        fields = ["estimator", "multi_arm", "binary_measure", "binary_pooling"]
        labels = {
            "estimator": "Between-study variance (τ²) estimator",
            "multi_arm": "Several arms sharing one control",
            "binary_measure": "Dichotomous outcomes: effect measure",
            "binary_pooling": "Dichotomous outcomes: pooling",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["windows"] = windows_text(self.instance.time_windows or [])

    def clean_windows(self) -> list[dict]:
        windows, problems = [], []
        for number, line in enumerate(self.cleaned_data["windows"].splitlines(), 1):
            text = line.strip()
            if not text:
                continue
            match = WINDOW_LINE.fullmatch(text)
            if match is None:
                problems.append(
                    f"Line {number} ('{text}'): write it as 'Day 14: 14 ± 3 since injury'."
                )
                continue
            centre, half = float(match["centre"]), float(match["half"] or 0)
            if abs(centre) > 36500 or half > 36500:
                problems.append(f"Line {number}: {text} is beyond a hundred years.")
                continue
            basis = "prp" if (match["basis"] or "").lower() == "prp" else "injury"
            label = (match["label"] or "").strip()[:60]
            windows.append({"label": label, "centre": centre, "half_width": half, "basis": basis})
        if problems:
            raise forms.ValidationError(problems, code="bad_window")
        return windows
