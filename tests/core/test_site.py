"""Site-level behaviour: API index, JSON 404s under /api/, self-hosted docs assets."""

import pytest


@pytest.mark.django_db
def test_api_root_points_to_docs_schema_and_websocket(client):
    body = client.get("/api/v1/").json()
    assert body["docs"].endswith("/api/docs/")
    assert body["schema"].endswith("/api/v1/schema/")
    assert body["websocket"] == "ws://testserver/ws/"


@pytest.mark.django_db
def test_unknown_api_path_gets_json_404_when_not_debug(client, settings):
    settings.DEBUG = False
    response = client.get("/api/v1/products/not-a-uuid/nothing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.django_db
def test_swagger_ui_uses_self_hosted_assets_that_are_served(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr.net" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html


@pytest.mark.django_db
def test_schema_is_served_as_openapi_3(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_static_assets_of_docs_and_admin_are_served_by_the_app(client):
    js = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    css = client.get("/static/admin/css/base.css")
    assert js.status_code == 200 and css.status_code == 200
