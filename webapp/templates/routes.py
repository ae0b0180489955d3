"""The template library: search, tags, favourites, create, edit and delete (editors change
them; everyone reads). "Use" opens the composer filled from the template
(/posts/new?template=<id>); saving it there makes the post and counts the use."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import ValidationError
from ..extensions import db
from ..services import campaigns, channels
from ..services import templates as service
from ..web.access import current_workspace
from ..web.forms import add_errors, channel_input
from ..web.htmx import render, wants_fragment
from . import bp
from .forms import TemplateForm

SEARCH_MAX = 200


def _get(template_id: int):
    return service.get(current_workspace().id, template_id)


@bp.get("/templates")
def templates():
    workspace_id = current_workspace().id
    q = (request.args.get("q") or "").strip()[:SEARCH_MAX]
    tag = (request.args.get("tag") or "").strip()[:SEARCH_MAX]
    rows = service.of_workspace(workspace_id, q=q, tag=tag)
    return render("templates/templates.html", "templates/_library.html", templates=rows,
                  q=q, tag=tag, tags=service.tags_of(workspace_id),
                  channels={c.id: c for c in channels.of_workspace(workspace_id)})


def _form_page(form: TemplateForm, template=None, errors: dict | None = None,
               chosen=None, texts=None, code: int = 200):
    workspace_id = current_workspace().id
    form.campaign_id.choices = [("", "No campaign")] + [
        (str(c.id), c.name) for c in campaigns.pickable(
            workspace_id, template.campaign_id if template else None)]
    if chosen is None:
        chosen = list(template.channel_ids) if template else []
    if texts is None:
        texts = ({int(k): v for k, v in template.overrides.items() if k.isdigit()}
                 if template else {})
    return render("templates/template_form.html", form=form, tpl=template,
                  errors=errors or {}, channels=channels.of_workspace(workspace_id),
                  chosen=chosen, texts=texts, code=code)


def _submitted(template=None):
    """Read the form and call `save(data)`; the form again with the errors, or None."""
    form = TemplateForm()
    chosen, texts, errors = channel_input(channels.of_workspace(current_workspace().id))
    if errors or not form.validate_on_submit():
        return form, None, _form_page(form, template, errors, chosen, texts, code=422)
    return form, form.data_for(chosen, texts), (chosen, texts)


@bp.route("/templates/new", methods=["GET", "POST"])
def template_create():
    if request.method == "GET":
        return _form_page(TemplateForm())
    form, data, rest = _submitted()
    if data is None:
        return rest
    try:
        template = service.create(current_workspace().id, current_user.id, data)
    except ValidationError as exc:
        db.session.rollback()
        return _form_page(form, None, add_errors(form, exc.fields, {}), *rest, code=422)
    flash(f"Template “{template.name}” saved.", "success")
    return redirect(url_for("templates.templates"), 303)


@bp.route("/templates/<id:template_id>/edit", methods=["GET", "POST"])
def template_edit(template_id):
    template = _get(template_id)
    if request.method == "GET":
        return _form_page(TemplateForm.of(template), template)
    form, data, rest = _submitted(template)
    if data is None:
        return rest
    try:
        service.update(template, current_user.id, data)
    except ValidationError as exc:
        db.session.rollback()
        return _form_page(form, _get(template_id), add_errors(form, exc.fields, {}), *rest,
                          code=422)
    flash(f"Template “{template.name}” saved.", "success")
    return redirect(url_for("templates.templates"), 303)


@bp.post("/templates/<id:template_id>/favorite")
def template_favorite(template_id):
    """Toggle: HTMX swaps the button; without it, back to the library."""
    template = service.toggle_favorite(_get(template_id), current_user.id)
    if wants_fragment():
        return render("templates/_favorite.html", t=template)
    done = "marked a favourite" if template.favorite else "is no longer a favourite"
    flash(f"“{template.name}” {done}.", "success")
    return redirect(url_for("templates.templates"), 303)


@bp.route("/templates/<id:template_id>/delete", methods=["GET", "POST"])
def template_delete(template_id):
    """GET asks for confirmation; POST removes the template, keeping the posts made from it."""
    template = _get(template_id)
    if request.method == "GET":
        return render("templates/template_delete.html", tpl=template)
    name = template.name
    service.delete(template, current_user.id)
    flash(f"Template “{name}” deleted; the posts made from it stay.", "success")
    return redirect(url_for("templates.templates"), 303)
