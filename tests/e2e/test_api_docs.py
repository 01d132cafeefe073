"""The API's documentation and the account's API tokens, in a browser under the site's content
security policy."""

from playwright.sync_api import expect

from api.models import PersonalToken
from reviewmgr.models import User
from tests.e2e.conftest import log_in, screenshot

PASSWORD = "a-long-test-password"


def test_the_api_docs_list_every_endpoint_without_a_blocked_script(page, live_server):
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_role("heading", name="reviewmgr API")).to_be_visible()
    expect(page.get_by_text("/api/reviews/{slug}/records/", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    screenshot(page, "api-docs")
    assert refused == []


def test_a_token_is_shown_once_listed_and_revoked_on_the_account_page(
    page, live_server, transactional_db
):
    User.objects.create_user(username="ana", password=PASSWORD)
    log_in(page, live_server, "ana", PASSWORD)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("R on my laptop")
    page.get_by_role("button", name="Make a token").click()
    shown = page.locator("#new-token").inner_text()
    assert shown.startswith("rvm_")
    expect(page.get_by_role("cell", name="R on my laptop", exact=True)).to_be_visible()
    screenshot(page, "api-tokens")

    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Revoke R on my laptop").click()
    expect(page.get_by_text("Token “R on my laptop” revoked")).to_be_visible()
    assert PersonalToken.objects.get().revoked_at is not None
