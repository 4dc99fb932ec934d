"""Pagination defaults: limit/offset, 50 by default, at most 200; cursor pagination for feeds."""

from rest_framework.pagination import CursorPagination
from rest_framework.pagination import LimitOffsetPagination as _LimitOffsetPagination


class LimitOffsetPagination(_LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class NewestFirstCursorPagination(CursorPagination):
    """Feeds that grow at the head (inbox, orders, ledger): newest first, stable under inserts;
    ``?cursor=`` from ``next``/``previous``; ``?page_size=`` up to 100 (default 20)."""

    ordering = ("-created_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
