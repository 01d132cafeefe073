from django import forms

from api.tokens import NAME_NEEDED


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What it is for, e.g. 'R analysis on my laptop'.",
        error_messages={"required": NAME_NEEDED},
    )
