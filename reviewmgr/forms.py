from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.text import slugify

from reviewmgr import importers
from reviewmgr.importers import FORMATS
from reviewmgr.importers.normalise import is_digits
from reviewmgr.models import ImportBatch, Membership, Record, Review
from reviewmgr.services import CORRECTABLE_FIELDS


def check_upload_size(upload: UploadedFile) -> None:
    """The product's limit on any uploaded file, with both sizes said in words."""
    limit = settings.REVIEWMGR_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}.",
            code="too_large",
        )


def check_zip_expansion(upload: UploadedFile) -> None:
    """A zip bomb is refused before the upload is stored (the importer checks again)."""
    try:
        importers.check_zip_expansion(upload, upload.size)
    except importers.ImportFileError as error:
        raise ValidationError(str(error), code="zip_bomb") from None


def check_search_export(upload: UploadedFile) -> None:
    """What every uploaded search export must pass before it is kept: within the size limit,
    not empty, not a zip bomb. The upload page and the API check the same."""
    check_upload_size(upload)
    if upload.size == 0:
        raise ValidationError("The file is empty.", code="empty")
    check_zip_expansion(upload)


def split_keywords(text: str) -> list[str]:
    """Keywords one per line or separated by commas, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for line in text.replace(",", "\n").splitlines():
        word = line.strip()
        if word and word.lower() not in {k.lower() for k in seen}:
            seen[word] = None
    return list(seen)


class KeywordsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return split_keywords(super().to_python(value) or "")


class ReviewForm(forms.ModelForm):
    inclusion_keywords = KeywordsField(
        required=False, help_text="One per line or comma-separated; highlighted when screening."
    )
    exclusion_keywords = KeywordsField(required=False, help_text="One per line or comma-separated.")

    class Meta:
        model = Review
        fields = [
            "title",
            "slug",
            "question",
            "inclusion_criteria",
            "exclusion_criteria",
            "inclusion_keywords",
            "exclusion_keywords",
        ]
        widgets = {
            "question": forms.Textarea(attrs={"rows": 3}),
            "inclusion_criteria": forms.Textarea(attrs={"rows": 4}),
            "exclusion_criteria": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "slug": "Short name used in addresses; leave empty to derive it from the title."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("title", ""))[:80]
        if not slug:
            raise ValidationError("Give the review a title or a short name.", code="no_slug")
        taken = Review.objects.filter(slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                f"The short name '{slug}' is taken; choose another.", code="slug_taken"
            )
        return slug


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=Membership.Role.choices, **kwargs)


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    roles = RolesField(initial=[Membership.Role.REVIEWER])


class MemberRolesForm(forms.Form):
    roles = RolesField()


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="RIS, BibTeX, PubMed (MEDLINE or XML), EndNote XML, "
        "Web of Science, CSV/TSV or Excel."
    )
    source = forms.ChoiceField(choices=ImportBatch.Source.choices)
    source_detail = forms.CharField(
        max_length=200, required=False, label="Source detail", help_text="E.g. 'Embase via Ovid'."
    )
    search_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date searched"
    )
    search_string = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    format = forms.ChoiceField(
        choices=[("auto", "Detect from the content")] + [(f, f) for f in FORMATS], initial="auto"
    )
    lenient = forms.BooleanField(
        required=False,
        label="Import the good records and list the bad ones",
        help_text="By default a file with any bad record is rejected whole.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        check_search_export(upload)
        return upload


class ColumnMapForm(forms.Form):
    """One select per column of a spreadsheet: which record field it holds."""

    FIELD_CHOICES = [
        ("", "— ignore —"),
        ("title", "Title"),
        ("abstract", "Abstract"),
        ("authors", "Authors"),
        ("year", "Year"),
        ("journal", "Journal"),
        ("volume", "Volume"),
        ("issue", "Issue"),
        ("pages", "Pages"),
        ("doi", "DOI"),
        ("pmid", "PMID"),
        ("url", "URL"),
        ("keywords", "Keywords"),
        ("type", "Type"),
        ("language", "Language"),
        ("label", "Inclusion label"),
    ]

    def __init__(self, *args, columns: list[str], suggested: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for index, column in enumerate(columns):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=column,
                choices=self.FIELD_CHOICES,
                required=False,
                initial=suggested.get(column, ""),
            )

    def clean(self):
        cleaned = super().clean()
        mapping = {
            column: cleaned.get(f"col_{index}")
            for index, column in enumerate(self.columns)
            if cleaned.get(f"col_{index}")
        }
        if "title" not in mapping.values():
            raise ValidationError("Choose the column that holds the titles.", code="no_title")
        targets = list(mapping.values())
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValidationError(
                f"Each field can come from one column only: {', '.join(repeated)}.",
                code="repeated_field",
            )
        cleaned["column_map"] = mapping
        return cleaned


class RecordCorrectionForm(forms.ModelForm):
    authors = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One name per line."
    )
    keywords = KeywordsField(required=False)

    class Meta:
        model = Record
        fields = list(CORRECTABLE_FIELDS)
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2}),
            "abstract": forms.Textarea(attrs={"rows": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["authors"] = "\n".join(self.instance.authors or [])

    def clean_authors(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["authors"].splitlines() if line.strip()]

    def clean_doi(self) -> str:
        doi = self.cleaned_data["doi"].strip().lower()
        for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
            doi = doi.removeprefix(prefix)
        if doi and not doi.startswith("10."):
            raise ValidationError("A DOI starts with '10.' (e.g. 10.1002/ejp.1234).", code="doi")
        return doi

    def clean_pmid(self) -> str:
        pmid = self.cleaned_data["pmid"].strip()
        if pmid and not pmid.isdigit():
            raise ValidationError("A PMID is a number.", code="pmid")
        return pmid


class ReportLinkForm(forms.Form):
    """The record whose study another record reports: a record of this review."""

    to = forms.IntegerField(min_value=1, label="Same study as record")

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        self.review = review

    def clean_to(self):
        number = self.cleaned_data["to"]
        record = self.review.records.filter(pk=number).first()
        if record is None:
            raise ValidationError(
                f"Record {number} is not a record of this review.", code="other_review"
            )
        return record


class BatchVersionForm(forms.Form):
    version_role = forms.ChoiceField(
        choices=ImportBatch.Version.choices, label="This import is", widget=forms.RadioSelect
    )
    search_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Date searched (or of the previous version)",
    )


def posted_number(value: str) -> int | None:
    """A row number or id posted by a form, or None for anything else ("²", a word, or a
    5,000-digit number would otherwise end in a server error at int())."""
    return int(value) if is_digits(value) and len(value) <= 9 else None
