from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..services.accounts import MIN_PASSWORD
from ..web.forms import zone_field


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in (30 days)")


class SignupForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=MIN_PASSWORD)])
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", "Passwords differ")])
    workspace = StringField("Workspace name", default="My workspace",
                            validators=[DataRequired(), Length(max=120)])
    timezone = zone_field("Your timezone", default="UTC")
