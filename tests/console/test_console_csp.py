"""The Content-Security-Policy in a real browser (issue 13, table row 11): the console, the Django
admin and Swagger UI work under it, and Chromium reports no violation on any of them."""

from __future__ import annotations

import pytest

from tests.factories.core import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.live


def watch_csp(page) -> list[str]:
    """Collect the console messages in which Chromium reports a blocked resource or script."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    return violations


def test_console_admin_and_swagger_ui_work_under_the_csp(browser, console, dj):
    """Row 11: every page is served with the policy; the console signs in and opens its socket,
    the admin login is styled and signs a staff user in, Swagger UI renders the API's operations,
    with no CSP violation reported by the browser."""
    user, admin = UserFactory(), AdminFactory()

    page = browser.page(enforce_csp=True)
    violations = watch_csp(page)
    response = page.goto(console.url + "/console/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # sign in through the form (conftest.sign_in waits with wait_for_function, which the CSP forbids)
    page.fill("#signin-form input[name=email]", user.email)
    page.fill("#signin-form input[name=password]", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#conn-state[data-state='open']")
    page.wait_for_selector("#panels:not([hidden])")
    page.wait_for_selector(f"#whoami:has-text('{user.email}')")

    page.goto(console.url + "/admin/login/")
    header_colour = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header_colour not in ("rgba(0, 0, 0, 0)", "transparent"), header_colour  # admin CSS applied
    page.fill("input[name=username]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert page.url.rstrip("/").endswith("/admin")

    page.goto(console.url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title:has-text('Real-time marketplace API')")
    # Swagger UI's scripts ran under the policy: the document's operations are drawn. Swagger UI
    # keeps only the operations near the viewport in the DOM, so the last tag's appear once the
    # page is scrolled to its end.
    page.wait_for_selector(".swagger-ui .opblock-summary-path[data-path='/api/v1/auctions/']")
    page.wait_for_selector(".swagger-ui .opblock-summary-path[data-path='/api/v1/auth/token/']")
    for _ in range(20):
        page.mouse.wheel(0, 20000)
        if page.query_selector(".swagger-ui .opblock-summary-path[data-path='/api/v1/wallet/ledger/']"):
            break
        page.wait_for_timeout(250)
    page.wait_for_selector(".swagger-ui .opblock-summary-path[data-path='/api/v1/wallet/ledger/']")

    assert violations == [] and page.errors == [], (violations, page.errors)
