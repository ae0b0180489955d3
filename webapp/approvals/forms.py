from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField

from ..models import APPROVAL_MODES, ReviewLink
from ..services.approvals import COMMENT_MAX
from ..web.forms import Form


class DecisionForm(FlaskForm):
    """Approve (the comment is optional) or reject (it says what should change)."""

    comment = TextAreaField("Comment", render_kw={"maxlength": COMMENT_MAX, "rows": 2})


class ModeForm(Form):
    CHOICES = {"approval": [
        ("none", "Not needed: editors schedule and publish directly"),
        ("required", "Required: what an editor schedules waits for an approver or admin")]}

    approval = RadioField("Approval", validate_choice=False)

    def mode(self) -> str | None:
        return self.approval.data if self.approval.data in APPROVAL_MODES else None


class ReviewLinkForm(FlaskForm):
    """Who the link is for and how long it lasts (services.reviews checks both)."""

    name = StringField("For whom", render_kw={"maxlength": ReviewLink.NAME_MAX})
    days = StringField("Valid for (days)", default=str(ReviewLink.LIFETIME_DAYS))


class ReviewForm(FlaskForm):
    """The client's decision: approve, or request changes (with a comment)."""

    decision = StringField("Decision")
    comment = TextAreaField("What should change",
                            render_kw={"maxlength": COMMENT_MAX, "rows": 3})
