"""Pages of the list endpoints: DRF's page numbers, read as ASCII digits within bounds."""

from __future__ import annotations

from rest_framework import pagination

from core.integers import BIGINT_MAX, parse_int


class PageNumberPagination(pagination.PageNumberPagination):
    # Django's Paginator takes int('٣') for page 3 and turns '1e3' into a 404.
    def get_page_number(self, request, paginator):
        text = request.query_params.get(self.page_query_param)
        if text is None:
            return 1
        if text in self.last_page_strings:
            return paginator.num_pages
        return parse_int(text, name=self.page_query_param, minimum=1, maximum=BIGINT_MAX)

    def get_schema_operation_parameters(self, view):
        [page] = super().get_schema_operation_parameters(view)
        page["schema"] = {"type": "integer", "minimum": 1, "format": "int64"}
        return [page]
