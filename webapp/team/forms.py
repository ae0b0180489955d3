"""The team page's forms and the invitation's account form."""

from wtforms import EmailField, PasswordField, SelectField

from ..models import ROLES
from ..web.forms import Form

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]


class InviteForm(Form):
    CHOICES = {"role": ROLE_CHOICES}

    email = EmailField("E-mail", render_kw={"maxlength": 254, "autocomplete": "off"})
    # The service checks the role (one rule for the page and the API).
    role = SelectField("Role", default="editor", validate_choice=False)


class RoleForm(Form):
    CHOICES = {"role": ROLE_CHOICES}

    role = SelectField("Role", validate_choice=False)


class JoinForm(Form):
    """Joining as the signed-in user: nothing but the CSRF token."""


class NewAccountForm(Form):
    password = PasswordField("Password")
    confirm = PasswordField("Repeat password")
