"""OpenAPI helpers for commerce.

``core.authentication.JWTAuthentication`` (a simplejwt subclass) has no drf-spectacular
extension yet, so every view warns "could not resolve authenticator". This registers one with a
low priority: when core registers its own for that class, core's wins.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class CoreJWTSchemeFallback(SimpleJWTScheme):
    target_class = "core.authentication.JWTAuthentication"
    name = "jwtAuth"
    priority = -1
