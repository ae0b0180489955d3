"""The campaign form."""

from wtforms import SelectField, StringField, TextAreaField

from ..models import CAMPAIGN_STATUSES
from ..web.forms import Form


class CampaignForm(Form):
    CHOICES = {"status": [(s, s.capitalize()) for s in CAMPAIGN_STATUSES]}

    name = StringField("Name")
    description = TextAreaField("Description (optional)")
    color = StringField("Colour", default="#8b5cf6", render_kw={"type": "color"})
    status = SelectField("Status", default="active", validate_choice=False)
    tags = StringField("Tags (optional, separated by commas)")
    target_post_count = StringField("Goal: posts to publish (optional)",
                                    render_kw={"type": "number", "min": 1})
    start_date = StringField("Starts (optional)", render_kw={"type": "date"})
    end_date = StringField("Ends (optional)", render_kw={"type": "date"})

    @classmethod
    def of(cls, campaign) -> "CampaignForm":
        """The form filled with a campaign's fields, for editing."""
        return cls(data={
            "name": campaign.name, "description": campaign.description,
            "color": campaign.color, "status": campaign.status,
            "tags": ", ".join(campaign.tags),
            "target_post_count": campaign.target_post_count or "",
            "start_date": campaign.start_date.isoformat() if campaign.start_date else "",
            "end_date": campaign.end_date.isoformat() if campaign.end_date else ""})

    def data_for(self) -> dict:
        """The dict services.campaigns.create/update take."""
        return {"name": (self.name.data or "").strip(),
                "description": self.description.data or "",
                "color": self.color.data or None, "status": self.status.data or "active",
                "tags": [t.strip() for t in (self.tags.data or "").split(",") if t.strip()],
                "target_post_count": (self.target_post_count.data or "").strip() or None,
                "start_date": (self.start_date.data or "").strip() or None,
                "end_date": (self.end_date.data or "").strip() or None}
