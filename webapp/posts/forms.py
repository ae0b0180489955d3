"""The composer's form."""

from wtforms import RadioField, SelectField, StringField, TextAreaField

from ..web.forms import CheckboxesField, Form, zone_field

RECURRENCES = [("none", "Does not repeat"), ("daily", "Every day"), ("weekly", "Every week"),
               ("monthly", "Every month (same day)"),
               ("custom", "Custom rule…")]
ENDS = [("never", "Never"), ("until", "On a date"), ("count", "After a number of times")]
WEEKDAYS = [("MO", "Mon"), ("TU", "Tue"), ("WE", "Wed"), ("TH", "Thu"), ("FR", "Fri"),
            ("SA", "Sat"), ("SU", "Sun")]


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
    rrule = StringField("Rule", render_kw={"placeholder": "weekly:monday,thursday",
                                           "spellcheck": "false", "autocapitalize": "off"})
    ends = RadioField("Ends", default="never", validate_choice=False)
    until = StringField("Last date", render_kw={"type": "date"})
    count = StringField("Number of times", render_kw={"type": "number", "min": 1})
    unpublish_at = StringField("Remove from the platform at…",
                               render_kw={"type": "datetime-local"})
    priority = StringField("Priority (1 = lowest, 10 = highest)", default="5",
                           render_kw={"type": "number", "min": 1, "max": 10})
    # Choices: the workspace's campaigns (routes.py); the service checks the one chosen.
    campaign_id = SelectField("Campaign", default="", validate_choice=False)

    ERRORS = {"schedule.at": "at", "schedule.timezone": "timezone",
              "schedule.recurrence": "recurrence", "schedule.until": "until",
              "schedule.count": "count", "schedule.monthday": "monthday",
              "schedule.unpublish_at": "unpublish_at",
              "campaign_id": "campaign_id"}

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
            "until": (self.until.data or "").strip(), "count": (self.count.data or "").strip(),
            "unpublish_at": (self.unpublish_at.data or "").strip()})

    def schedule_data(self, errors: dict) -> dict:
        """The API's schedule object from the inputs; problems only the form can see go
        into `errors` (keys as the API names them)."""
        recurrence, rule = self.recurrence.data or "none", None
        if recurrence == "weekly" and self.weekdays.data:
            days = [d for d, _ in WEEKDAYS if d in self.weekdays.data]
            rule = "FREQ=WEEKLY;BYDAY=" + ",".join(days) if days else "weekly"
        elif recurrence == "monthly" and (self.monthday.data or "").strip():
            day = self.monthday.data.strip()
            if day.isascii() and day.isdigit() and 1 <= int(day) <= 31:
                rule = f"FREQ=MONTHLY;BYMONTHDAY={int(day)}"
            else:
                rule = "monthly"
                errors["schedule.monthday"] = "choose a day between 1 and 31"
        elif recurrence in ("daily", "weekly", "monthly"):
            rule = recurrence
        elif recurrence == "custom":
            rule = (self.rrule.data or "").strip()
            if not rule:
                errors["schedule.recurrence"] = ("enter a rule, e.g. weekly:monday,thursday, "
                                                 "monthly:-1 or cron:0 9 * * 1-5")
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
                    "recurrence": rule, "until": until, "count": count,
                    "unpublish_at": (self.unpublish_at.data or "").strip() or None}
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
        "unpublish_at": values.get("unpublish_at", ""),
    }

