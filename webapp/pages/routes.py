from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/")
@login_required
def dashboard():
    return render_template("pages/dashboard.html")


@bp.get("/channels")
@login_required
def channels():
    return render_template("pages/dashboard.html")
