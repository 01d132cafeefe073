"""A refused or failed request in the middle of screening is said on the page, never silent."""

from playwright.sync_api import expect

from reviewmgr.seed import load_seed_review
from screening.models import Decision
from tests.e2e.conftest import log_in

PASSWORD = "demo-password-for-e2e"


def test_a_decision_refused_by_the_server_is_announced_and_nothing_is_stored(
    page, live_server, transactional_db, monkeypatch
):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    review = load_seed_review(with_demo_users=True).review
    log_in(page, live_server, "reviewer2", PASSWORD)
    page.goto(f"{live_server.url}/reviews/{review.slug}/screen/ta/")
    title = page.locator("#record-title").inner_text()

    # Meanwhile the lead takes reviewer2 off the review.
    review.memberships.filter(user__username="reviewer2").delete()
    page.keyboard.press("i")

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not found")
    expect(alert).to_contain_text("not a member")
    expect(page.locator("#record-title")).to_have_text(title)  # the page did not move on
    assert not Decision.objects.filter(reviewer__username="reviewer2").exists()
