"""The channel form, built from what each publisher declares (its `form_fields`)."""

from dataclasses import dataclass

from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.widgets import PasswordInput

from ..services.channels import PUBLISHERS
from ..web.forms import Form

PLATFORMS = [(name, cls.label or name.capitalize()) for name, cls in PUBLISHERS.items()]


def input_name(platform: str, spec) -> str:
    """The form's field for a setting: the publisher's choice, else `<platform>_<key>`
    (two platforms may both have a `bot_token`)."""
    return spec.input or f"{platform}_{spec.name}"


def _optional_secret(cls, spec) -> bool:
    return spec.name in cls.secret_fields and spec.name not in cls.required_fields


@dataclass
class Setting:
    """One setting as the template shows it: the publisher's description and its form
    fields (`clear`: the box that removes an optional credential, when editing)."""

    spec: object
    field: object
    clear: object | None
    secret: bool


class ChannelForm(Form):
    CHOICES = {"platform": PLATFORMS}

    name = StringField("Name")
    platform = SelectField("Platform", validate_choice=False)
    color = StringField("Colour", default="#3b82f6", render_kw={"type": "color"})
    rate_limit_per_hour = StringField("Posts per hour at most (optional)",
                                      render_kw={"type": "number", "min": 1})

    @staticmethod
    def error_fields(platform: str) -> dict:
        """{"config.<key>": form field name} for the platform's settings."""
        cls = PUBLISHERS.get(platform)
        return {f"config.{spec.name}": input_name(platform, spec)
                for spec in (cls.form_fields if cls else ())}

    @staticmethod
    def initial(platform: str, shown: dict) -> dict:
        """Form data for an edit form from the channel's shown config (never a secret)."""
        cls = PUBLISHERS[platform]
        return {input_name(platform, spec): shown.get(spec.name) or ""
                for spec in cls.form_fields if spec.name not in cls.secret_fields}

    def sections(self, only: str | None = None) -> list[tuple[str, object, list[Setting]]]:
        """(platform, publisher class, settings) for every platform, or just `only`."""
        found = []
        for platform, cls in PUBLISHERS.items():
            if only is not None and platform != only:
                continue
            settings = [Setting(spec, self[input_name(platform, spec)],
                                self[f"clear_{input_name(platform, spec)}"]
                                if _optional_secret(cls, spec) else None,
                                spec.name in cls.secret_fields)
                        for spec in cls.form_fields]
            found.append((platform, cls, settings))
        return found

    def data_for(self, platform: str, editing: bool) -> dict:
        """The dict services.channels.create/update take. When editing, credentials left
        empty keep their stored values, and optional settings left empty are removed."""
        config: dict = {}
        cls = PUBLISHERS.get(platform)
        for spec in (cls.form_fields if cls else ()):
            name = input_name(platform, spec)
            value = self[name].data or ""
            if spec.name in cls.secret_fields:
                if value:
                    config[spec.name] = value
                elif _optional_secret(cls, spec):
                    if editing and self[f"clear_{name}"].data:
                        config[spec.name] = ""
                elif not editing:
                    config[spec.name] = ""  # required: refused with its message
            elif spec.name in cls.required_fields:
                config[spec.name] = value.strip()
            elif value.strip():
                config[spec.name] = value.strip()
            elif editing:
                config[spec.name] = None  # emptied: back to the platform's default
        data = {"name": (self.name.data or "").strip(), "color": self.color.data or None,
                "rate_limit_per_hour": (self.rate_limit_per_hour.data or "").strip() or None,
                "config": config}
        if not editing:
            data["platform"] = platform
        return data


def _add_fields() -> None:
    """One form field per setting of every platform, named by input_name."""
    for platform, cls in PUBLISHERS.items():
        for spec in cls.form_fields:
            name = input_name(platform, spec)
            attributes = {"placeholder": spec.placeholder} if spec.placeholder else {}
            if spec.kind == "password":
                # A refused form comes back with what was typed, credentials included:
                # the person submitting it just typed them, and retyping a long token is
                # how typos get in. (An edit form starts empty: a saved credential is
                # never sent back.)
                field = PasswordField(spec.label, widget=PasswordInput(hide_value=False),
                                      render_kw=attributes)
            else:
                field = StringField(spec.label, render_kw={"type": spec.kind, **attributes})
            setattr(ChannelForm, name, field)
            if _optional_secret(cls, spec):
                label = spec.label.removesuffix(" (optional)").lower()
                setattr(ChannelForm, f"clear_{name}", BooleanField(f"Remove the {label}"))


_add_fields()
