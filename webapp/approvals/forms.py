from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField

from ..models import APPROVAL_MODES
from ..services.approvals import COMMENT_MAX


class DecisionForm(FlaskForm):
    """Approve (the comment is optional) or reject (it says what should change)."""

    comment = TextAreaField("Comment", render_kw={"maxlength": COMMENT_MAX, "rows": 2})


class ModeForm(FlaskForm):
    approval = RadioField("Approval", choices={
        "none": "Not needed: editors schedule and publish directly",
        "required": "Required: what an editor schedules waits for an approver or admin"},
        validate_choice=False)

    def mode(self) -> str | None:
        return self.approval.data if self.approval.data in APPROVAL_MODES else None
