"""What every form shares: the base form, zone inputs, checkbox lists, domain errors on fields."""

from functools import cache

from flask import request
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from ..services.validation import row_id
from ..timeutil import common_zones


@cache
def zone_names() -> tuple[tuple[str, str], ...]:
    """Every IANA zone as (value, label), for the zone inputs' <datalist> (read once)."""
    return tuple(common_zones())


def zone_field(label: str, default: str | None = None) -> StringField:
    """A zone typed or picked from the page's <datalist id="zone-list"> (searchable, no
    JavaScript). The value is checked on the server (timeutil.zone)."""
    return StringField(label, default=default, render_kw={
        "list": "zone-list", "autocomplete": "off", "spellcheck": "false",
        "autocapitalize": "off", "placeholder": "Type to search, e.g. New_York"})


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def add_errors(form: FlaskForm, fields: dict, mapping: dict) -> dict:
    """Put domain field errors (keys like `schedule.at`) on the matching form fields.
    Returns the errors that have no form field (shown by the page where they belong)."""
    rest = {}
    for key, message in fields.items():
        name = mapping.get(key, key)
        field = getattr(form, name, None) if isinstance(name, str) else None
        if field is not None and hasattr(field, "errors") and name != "meta":
            field.errors = [*field.errors, message]
        else:
            rest[key] = message
    return rest


class Form(FlaskForm):
    """Choices are given after the fields are made (`CHOICES`): WTForms 3.3 deprecates
    tuples passed to the field's constructor, which works on every version."""

    CHOICES: dict[str, list] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, choices in self.CHOICES.items():
            getattr(self, name).choices = list(choices)


def channel_input(channels) -> tuple[list[int], dict[int, str], dict]:
    """The channels ticked in a composer-like form (each once), every per-channel text typed
    (ticked or not), and errors: the forms of posts and templates read them alike."""
    ids, errors = [], {}
    for raw in request.form.getlist("channel_ids"):
        if row_id(raw) is not None:
            ids.append(row_id(raw))
        else:
            errors["channel_ids"] = f"unknown channel {raw[:20]!r}"
    texts = {c.id: request.form.get(f"override_{c.id}", "") for c in channels}
    return list(dict.fromkeys(ids)), texts, errors
