"""Hostile text in a real browser: imported markup is shown as text and runs no script."""

import pytest
from django.urls import reverse

from screening import services as screening
from tests.conftest import make_record, make_review, make_user
from tests.e2e.conftest import log_in
from tests.security.test_xss import HOSTILE, IMG, SCRIPT, SVG, TA


@pytest.mark.e2e
def test_a_browser_opening_hostile_pages_runs_none_of_their_scripts(
    page, live_server, transactional_db
):
    lead = make_user("browser-lead")
    review = make_review(lead, slug="browser-xss", title=f"Review {SCRIPT}")
    record = make_record(review, f"Neuropathy {HOSTILE}", abstract=f"{IMG} {SVG}", authors=[SCRIPT])
    screening.sync_screening_rows(review=review)
    review.inclusion_keywords = ["neuropathy", "<b>"]
    review.save()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, "browser-lead", "a-long-test-password")
    for path in (
        record.get_absolute_url(),
        reverse("screening:screen_record", args=[review.slug, TA, record.pk]),
        review.get_absolute_url(),
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert page.get_by_text(SCRIPT, exact=False).first.is_visible()
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('img[src=x], svg[onload]').length") == 0
    page.evaluate("alert('the control')")  # a dialog that does fire is seen
    assert dialogs == ["the control"]
