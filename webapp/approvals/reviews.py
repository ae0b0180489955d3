"""Client review links: approvers and admins make and revoke them for a waiting post; the
public page /review/<token> (no sign-in) shows the post as each channel will show it and
takes one decision."""

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db, limiter
from ..services import posts, reviews
from ..timeutil import now_utc
from ..web.access import current_workspace
from ..web.forms import add_errors
from ..web.htmx import render
from ..web.redirects import safe_redirect
from . import bp
from .forms import ReviewForm, ReviewLinkForm

TIMES_SHOWN = 5


def _links_page(post, form=None, *, new_link=None, code: int = 200):
    return render("approvals/review_links.html", post=post, links=reviews.of_post(post),
                  form=form or ReviewLinkForm(formdata=None), new_link=new_link,
                  now=now_utc(), code=code)


@bp.get("/approvals/<id:post_id>/review-links")
def review_links(post_id: int):
    return _links_page(posts.get(current_workspace().id, post_id))


@bp.post("/approvals/<id:post_id>/review-links")
def create_review_link(post_id: int):
    """Not a redirect on success: the link must not travel in a URL or sit in the session,
    so this answer is the only place it is shown."""
    post = posts.get(current_workspace().id, post_id)
    form = ReviewLinkForm()
    if not form.validate_on_submit():
        return _links_page(post, form, code=400)
    try:
        link, token = reviews.create(post, current_user.id, form.name.data, form.days.data)
    except ValidationError as exc:
        db.session.rollback()
        add_errors(form, exc.fields, {})
        return _links_page(post, form, code=422)
    except Conflict as exc:
        db.session.rollback()
        flash(f"No link was made: {exc.message}.", "error")
        return redirect(url_for("approvals.review_links", post_id=post.id), 303)
    return _links_page(post, new_link=(link, url_for("approvals.review", token=token,
                                                     _external=True)))


@bp.post("/approvals/review-links/<id:link_id>/revoke")
def revoke_review_link(link_id: int):
    link = reviews.get(current_workspace().id, link_id)
    back = safe_redirect(request.form.get("next"),
                         url_for("approvals.review_links", post_id=link.post_id))
    if not ReviewLinkForm().validate_on_submit():
        flash("Nothing changed: the form expired; try again.", "error")
        return redirect(back, 303)
    try:
        reviews.revoke(link, current_user.id)
    except Conflict as exc:
        db.session.rollback()
        flash(f"Nothing changed: {exc.message}.", "error")
    else:
        flash(f"The link for {link.name} opens nothing any more.", "success")
    return redirect(back, 303)


def _too_many() -> str:
    return ("Too many decisions were sent from your network address. Nothing was changed: "
            "wait a few minutes and try again.")


# Tokens are secrets.token_urlsafe(32): 43 characters. Anything else is no link of ours,
# and routing answers 404 before CSRF or a lookup runs.
@bp.route("/review/<string(length=43):token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["HERALD_REVIEW_LIMIT_PER_ADDRESS"],
               methods=["POST"], error_message=_too_many())
def review(token: str):
    """Open to everyone with the link: the post as each channel shows it, and the
    decision. A link that may not decide is a friendly 404 (unknown) or 410."""
    form = ReviewForm()
    try:
        link = reviews.open(token)
    except NotFound as exc:
        return _review_page(invalid=exc.message, code=404)
    except reviews.Refused as exc:
        return _review_page(link=exc.link, refused=exc, code=exc.status)
    if request.method == "GET":
        return _review_page(link=link, form=form)
    if not form.validate_on_submit():
        return _review_page(link=link, form=form, problem="The form expired: try again.",
                            code=400)
    try:
        link = reviews.decide(token, form.decision.data, form.comment.data)
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return _review_page(link=link, form=form, code=422)
    except reviews.Refused as exc:
        return _review_page(link=exc.link, refused=exc, code=exc.status)
    except Conflict as exc:
        return _review_page(link=link, form=form, problem=exc.message, code=409)
    return _review_page(link=link, decided=True)


def _review_page(*, link=None, form=None, code: int = 200, **context):
    post = link.post if link else None
    html, status = render("approvals/review.html", link=link, post=post, form=form,
                          times=posts.occurrences(post, TIMES_SHOWN) if post else [],
                          code=code, **context)
    # Nobody should find a review page through a search engine.
    return html, status, {"X-Robots-Tag": "noindex, nofollow"}
