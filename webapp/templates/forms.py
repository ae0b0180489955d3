"""The template form."""

from wtforms import BooleanField, SelectField, StringField, TextAreaField

from ..web.forms import Form


class TemplateForm(Form):
    """Channels and per-channel texts are read by `channel_input()`: their number depends
    on the workspace. Choices of campaign_id are the workspace's campaigns (routes.py)."""

    name = StringField("Name")
    description = TextAreaField("Description (optional)")
    title = StringField("Title (optional)")
    body = TextAreaField("Text")
    tags = StringField("Tags (optional, separated by commas)")
    priority = StringField("Priority (1 = lowest, 10 = highest)", default="5",
                           render_kw={"type": "number", "min": 1, "max": 10})
    campaign_id = SelectField("Campaign", default="", validate_choice=False)
    recurrence = StringField("Repeat (optional)", render_kw={
        "placeholder": "daily, weekly:monday,thursday, monthly:1, cron:0 9 * * 1-5",
        "spellcheck": "false", "autocapitalize": "off"})
    favorite = BooleanField("Favourite (listed first)")

    @classmethod
    def of(cls, template) -> "TemplateForm":
        """The form filled with a template's fields, for editing."""
        return cls(data={
            "name": template.name, "description": template.description,
            "title": template.title, "body": template.body, "tags": ", ".join(template.tags),
            "priority": str(template.priority),
            "campaign_id": str(template.campaign_id or ""),
            "recurrence": template.recurrence or "", "favorite": template.favorite})

    def data_for(self, channel_ids: list[int], texts: dict[int, str]) -> dict:
        """The dict services.templates.create/update take."""
        return {"name": (self.name.data or "").strip(),
                "description": self.description.data or "",
                "title": self.title.data or "", "body": self.body.data or "",
                "tags": [t.strip() for t in (self.tags.data or "").split(",") if t.strip()],
                "priority": (self.priority.data or "").strip() or None,
                "campaign_id": self.campaign_id.data or None,
                "recurrence": (self.recurrence.data or "").strip() or None,
                "favorite": bool(self.favorite.data), "channel_ids": channel_ids,
                "overrides": {str(i): texts[i] for i in channel_ids
                              if texts.get(i, "").strip()}}

