import pytest

from core.models import User


@pytest.mark.django_db
def test_health_reports_database_and_redis_ok(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("ok", "ok", "ok")
    assert body["checks"]["database"]["status"] == body["checks"]["redis"]["status"] == "ok"


@pytest.mark.django_db
def test_email_is_stored_lower_cased_and_roles_as_sorted_set():
    user = User.objects.create_user("Mixed@Example.COM", "pw-123456789", roles=["vendor", "buyer", "vendor"])
    user.refresh_from_db()
    assert user.email == "mixed@example.com"
    assert user.roles == ["buyer", "vendor"]
