"""The pages' forms. They carry CSRF and keep what was typed; the domain layer
(webapp.services) does the validating, and its field errors are put back on these fields."""

from functools import cache

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget, PasswordInput

from ..timeutil import common_zones

RECURRENCES = [("none", "Does not repeat"), ("daily", "Every day"), ("weekly", "Every week"),
               ("monthly", "Every month (same day)"), ("custom", "Custom rule (RRULE)")]
ENDS = [("never", "Never"), ("until", "On a date"), ("count", "After a number of times")]
WEEKDAYS = [("MO", "Mon"), ("TU", "Tue"), ("WE", "Wed"), ("TH", "Thu"), ("FR", "Fri"),
            ("SA", "Sat"), ("SU", "Sun")]
PLATFORMS = [("webhook", "Webhook"), ("mastodon", "Mastodon")]


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


class ChannelForm(Form):
    CHOICES = {"platform": PLATFORMS}

    name = StringField("Name")
    platform = SelectField("Platform", validate_choice=False)
    color = StringField("Colour", default="#3b82f6", render_kw={"type": "color"})
    url = StringField("Webhook URL", render_kw={"type": "url", "placeholder": "https://"})
    # A refused form comes back with what was typed, credentials included: the person
    # submitting it just typed them, and retyping a long token is how typos get in.
    # (An edit form starts empty: a saved credential is never sent back.)
    secret = PasswordField("Signing secret (optional)", widget=PasswordInput(hide_value=False))
    clear_secret = BooleanField("Remove the signing secret")
    instance_url = StringField("Instance URL", render_kw={"type": "url",
                                                          "placeholder": "https://mastodon.social"})
    access_token = PasswordField("Access token", widget=PasswordInput(hide_value=False))
    rate_limit_per_hour = StringField("Posts per hour at most (optional)",
                                      render_kw={"type": "number", "min": 1})

    ERRORS = {"config.url": "url", "config.secret": "secret",
              "config.instance_url": "instance_url", "config.access_token": "access_token"}

    def data_for(self, platform: str, editing: bool) -> dict:
        """The dict services.channels.create/update take. When editing, credentials left
        empty keep their stored values."""
        config: dict = {}
        if platform == "webhook":
            config["url"] = (self.url.data or "").strip()
            if self.secret.data:
                config["secret"] = self.secret.data
            elif editing and self.clear_secret.data:
                config["secret"] = ""
        elif platform == "mastodon":
            config["instance_url"] = (self.instance_url.data or "").strip()
            if self.access_token.data or not editing:
                config["access_token"] = self.access_token.data or ""
        data = {"name": (self.name.data or "").strip(), "color": self.color.data or None,
                "rate_limit_per_hour": (self.rate_limit_per_hour.data or "").strip() or None,
                "config": config}
        if not editing:
            data["platform"] = platform
        return data


class PostForm(Form):
    """The composer. Channels and per-channel texts are read by `channel_input()`: their
    number depends on the workspace."""

    CHOICES = {"recurrence": RECURRENCES, "weekdays": WEEKDAYS, "ends": ENDS}

    title = StringField("Title (optional)")
    body = TextAreaField("Text")
    at = StringField("Date and time", render_kw={"type": "datetime-local"})
    timezone = zone_field("Timezone")
    recurrence = SelectField("Repeat", default="none", validate_choice=False)
    weekdays = CheckboxesField("On these days (weekly)", validate_choice=False)
    monthday = StringField("On day of the month (monthly)",
                           render_kw={"type": "number", "min": 1, "max": 31,
                                      "placeholder": "same day as the first date"})
    rrule = StringField("Rule", render_kw={"placeholder": "FREQ=WEEKLY;BYDAY=MO,TH",
                                           "spellcheck": "false", "autocapitalize": "off"})
    ends = RadioField("Ends", default="never", validate_choice=False)
    until = StringField("Last date", render_kw={"type": "date"})
    count = StringField("Number of times", render_kw={"type": "number", "min": 1})
    priority = StringField("Priority (1 = lowest, 10 = highest)", default="5",
                           render_kw={"type": "number", "min": 1, "max": 10})

    ERRORS = {"schedule.at": "at", "schedule.timezone": "timezone",
              "schedule.recurrence": "recurrence", "schedule.until": "until",
              "schedule.count": "count", "schedule.monthday": "monthday"}

    def __init__(self, *args, default_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.data = (self.timezone.data or "").strip()
        if not self.timezone.data and not self.is_submitted():
            self.timezone.data = default_zone

    def schedule_values(self) -> dict:
        """The schedule inputs as typed, keeping only what the chosen options use, to tell
        whether an edit changed the schedule (compare with `schedule_fields()`)."""
        return normalized({
            "at": (self.at.data or "").strip(), "timezone": self.timezone.data or "",
            "recurrence": self.recurrence.data or "none", "weekdays": self.weekdays.data or [],
            "monthday": (self.monthday.data or "").strip(),
            "rrule": (self.rrule.data or "").strip(), "ends": self.ends.data or "never",
            "until": (self.until.data or "").strip(), "count": (self.count.data or "").strip()})

    def schedule_data(self, errors: dict) -> dict:
        """The API's schedule object from the inputs; problems only the form can see go
        into `errors` (keys as the API names them)."""
        recurrence, rule = self.recurrence.data or "none", None
        if recurrence == "weekly" and self.weekdays.data:
            days = [d for d, _ in WEEKDAYS if d in self.weekdays.data]
            rule = "FREQ=WEEKLY;BYDAY=" + ",".join(days) if days else "weekly"
        elif recurrence == "monthly" and (self.monthday.data or "").strip():
            day = self.monthday.data.strip()
            if day.isdigit() and 1 <= int(day) <= 31:
                rule = f"FREQ=MONTHLY;BYMONTHDAY={int(day)}"
            else:
                rule = "monthly"
                errors["schedule.monthday"] = "choose a day between 1 and 31"
        elif recurrence in ("daily", "weekly", "monthly"):
            rule = recurrence
        elif recurrence == "custom":
            rule = (self.rrule.data or "").strip()
            if not rule:
                errors["schedule.recurrence"] = "enter a rule, e.g. FREQ=WEEKLY;BYDAY=MO,TH"
        elif recurrence != "none":
            errors["schedule.recurrence"] = "choose how often the post repeats"
        until = count = None
        if rule is not None or recurrence == "custom":
            ends = self.ends.data or "never"
            if ends == "until":
                until = (self.until.data or "").strip()
                if not until:
                    errors["schedule.until"] = "choose the last date"
            elif ends == "count":
                count = (self.count.data or "").strip()
                if not count:
                    errors["schedule.count"] = "say how many times"
            elif ends != "never":
                errors["schedule.until"] = "choose when the repetition ends"
        schedule = {"at": (self.at.data or "").strip(), "timezone": self.timezone.data,
                    "recurrence": rule, "until": until, "count": count}
        return schedule


def normalized(values: dict) -> dict:
    """Schedule inputs without the ones their options ignore (days unless weekly, the rule
    unless custom, the end unless repeating)."""
    recurrence = values.get("recurrence") or "none"
    ends = values.get("ends") or "never"
    repeating = recurrence != "none"
    return {
        "at": values.get("at", ""), "timezone": values.get("timezone", ""),
        "recurrence": recurrence,
        "weekdays": sorted(values.get("weekdays") or []) if recurrence == "weekly" else [],
        "monthday": values.get("monthday", "") if recurrence == "monthly" else "",
        "rrule": values.get("rrule", "") if recurrence == "custom" else "",
        "ends": ends if repeating else "never",
        "until": values.get("until", "") if repeating and ends == "until" else "",
        "count": values.get("count", "") if repeating and ends == "count" else "",
    }


def channel_input(channels) -> tuple[list[int], dict[int, str], dict]:
    """The checked channel ids, every per-channel text typed (checked or not), and errors."""
    ids, errors = [], {}
    for raw in request.form.getlist("channel_ids"):
        if raw.isdigit() and len(raw) < 10:
            ids.append(int(raw))
        else:
            errors["channel_ids"] = f"unknown channel {raw[:20]!r}"
    texts = {c.id: request.form.get(f"override_{c.id}", "") for c in channels}
    return list(dict.fromkeys(ids)), texts, errors


class SettingsForm(Form):
    timezone = zone_field("Your timezone")
    notify_email = EmailField("E-mail for notifications (optional)")


class PasswordForm(Form):
    current = PasswordField("Current password")
    password = PasswordField("New password")
    confirm = PasswordField("Repeat the new password")


class TokenForm(Form):
    name = StringField("Token name", render_kw={"maxlength": 120,
                                                "placeholder": "e.g. deploy script"})


class ImportForm(Form):
    file = FileField("CSV file", validators=[
        FileRequired("choose a CSV file to import"),
        FileAllowed(["csv"], "choose a .csv file (in a spreadsheet: Save as → CSV UTF-8)")])
