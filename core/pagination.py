"""Pagination defaults: limit/offset, 50 by default, at most 200."""

from rest_framework.pagination import LimitOffsetPagination as _LimitOffsetPagination


class LimitOffsetPagination(_LimitOffsetPagination):
    default_limit = 50
    max_limit = 200
