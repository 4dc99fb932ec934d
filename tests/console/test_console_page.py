"""The console page and its static modules, without a browser (Django's test client)."""

from __future__ import annotations

import json

from tests.factories.core import UserFactory


def test_console_page_and_its_modules_are_served(client, db, debug_on):
    UserFactory(email="buyer1@demo.market")
    response = client.get("/console/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script type="module" src="/static/console/console.js">' in html
    config = json.loads(html.split('<script id="console-config" type="application/json">')[1].split("</script>")[0])
    assert config["api_base"] == "/api/v1/" and config["ws_url"] == "/ws/"
    # only demo accounts that exist are offered; no token or secret is in the page
    assert [a["email"] for a in config["demo_accounts"]] == ["buyer1@demo.market"]
    assert config["demo_password"] == debug_on.DEMO_PASSWORD  # prefilled with DEBUG on only
    assert "eyJ" not in html  # no JWT in the page
    for name in ("realtime.js", "console.js", "ui.js", "cart.js", "chat.js", "notifications.js", "auction.js",
                 "delivery.js", "inspector.js", "console.css", "returns.js", "reviews.js", "product.js", "tickets.js",
                 "media.js", "after_sales.js", "after_sales.css"):
        asset = client.get(f"/static/console/{name}")
        assert asset.status_code == 200, name
        assert asset["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript", "text/css"), name
    assert client.post("/console/").status_code == 405


def test_console_can_be_turned_off(client, db, settings):
    settings.CONSOLE_ENABLED = False
    assert client.get("/console/").status_code == 404
