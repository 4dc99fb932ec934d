"""OpenAPI (drf-spectacular) extensions of core: the JWT bearer scheme of
``core.authentication.JWTAuthentication`` (a simplejwt subclass with the logout denylist)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class JWTScheme(SimpleJWTScheme):
    target_class = "core.authentication.JWTAuthentication"
    name = "jwtAuth"
