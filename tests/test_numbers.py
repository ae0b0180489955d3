"""Numbers and ids typed into addresses and forms. Python's str.isdigit() is true for "²",
which int() refuses (a 500), and int() reads "٣" and "１２" as 3 and 12: only ASCII digits
name a page, a day or a row; anything else gets a clear answer, never a 500."""

import pytest
from sqlalchemy import func, select

from tests.helpers import composer, page, submit
from webapp.extensions import db
from webapp.models import Delivery, Post
from webapp.publishers.http import retry_after_seconds
from webapp.services.validation import row_id

NOT_ASCII = ["²", "٣", "１２", "7²"]


@pytest.mark.parametrize("raw", NOT_ASCII)
def test_pages_read_only_ascii_numbers_in_their_address(signed_in, channel, raw):
    for path, code in ((f"/queue?page={raw}", 200), (f"/posts?page={raw}", 200),
                       (f"/queue?channel={raw}", 400), (f"/calendar?channel={raw}", 400),
                       (f"/calendar?campaign={raw}", 400)):
        assert signed_in.get(path).status_code == code, path


@pytest.mark.parametrize("raw", NOT_ASCII)
def test_forms_read_only_ascii_numbers(signed_in, channel, raw):
    response = submit(signed_in, "/posts/new", composer(
        [channel.id], recurrence="monthly", monthday=raw), form_page="/posts/new")
    assert response.status_code == 422 and "day of the month" in page(response)
    response = submit(signed_in, "/posts/new", composer([raw]), form_page="/posts/new")
    assert response.status_code == 422
    response = submit(signed_in, "/posts/new", composer([channel.id], priority=raw),
                      form_page="/posts/new")
    assert response.status_code == 422 and "whole number" in page(response)
    response = submit(signed_in, "/queue/batch", {"action": "cancel", "ids": [raw]},
                      form_page="/queue")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_the_one_reading_of_an_id():
    assert [row_id(v) for v in ("1", "2147483647", "42")] == [1, 2**31 - 1, 42]
    assert [row_id(v) for v in ("0", "2147483648", "-1", " 1", "", None, 5, *NOT_ASCII)] == \
        [None] * (7 + len(NOT_ASCII))


def test_a_platform_s_retry_after_in_other_digits_is_ignored():
    assert retry_after_seconds("120") == 120.0
    assert [retry_after_seconds(v) for v in NOT_ASCII] == [None] * len(NOT_ASCII)
