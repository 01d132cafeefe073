"""The API's documentation opens in a browser under the site's content security policy."""

from playwright.sync_api import expect


def test_the_api_docs_list_every_endpoint_without_a_blocked_script(page, live_server):
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_role("heading", name="reviewmgr API")).to_be_visible()
    expect(page.get_by_text("/api/reviews/{slug}/records/", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert refused == []
