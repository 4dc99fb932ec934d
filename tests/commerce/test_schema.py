"""Every commerce endpoint is in the OpenAPI schema, and generating it raises no warning."""

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator


def test_commerce_endpoints_are_documented_without_warnings():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    expected = {
        "/api/v1/vendors/": {"get", "post"},
        "/api/v1/vendors/{vendor_id}/": {"get"},
        "/api/v1/vendors/{vendor_id}/activate/": {"post"},
        "/api/v1/vendors/{vendor_id}/suspend/": {"post"},
        "/api/v1/categories/": {"get"},
        "/api/v1/brands/": {"get"},
        "/api/v1/products/": {"get", "post"},
        "/api/v1/products/{product_id}/": {"get", "patch", "delete"},
        "/api/v1/cart/": {"get", "delete"},
        "/api/v1/cart/items/": {"post"},
        "/api/v1/cart/items/{item_id}/": {"patch", "delete"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    cart_post = paths["/api/v1/cart/items/"]["post"]
    assert cart_post["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    problems = [w for w in [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache] if "commerce" in str(w)]
    assert problems == []
