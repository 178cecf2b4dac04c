"""One paging convention for every JSON list of the API (docs/architecture.md, "Lists").

- Query parameters ``limit`` (1 to the endpoint's maximum; its default when absent) and
  ``offset`` (from 0): :func:`page_params` makes the dependency that reads them.
- The answer is a :class:`Page`: ``{"items": [...], "total": n, "limit": l, "offset": o}``,
  where ``total`` counts every item that matches the request's filters, on every page.
- Filtering, counting and slicing happen in SQL (:func:`fetch_page`), never on rows already
  cut by ``LIMIT``; the statement's order is total (its sort keys, then a unique id), so
  that walking the pages with any ``limit`` gives every item exactly once.

``tests/contract/test_paging.py`` finds every list in the OpenAPI document and walks it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

# Offsets past the last item give an empty page; past this they are refused (422), which
# keeps them inside the databases' integer range.
MAX_OFFSET = 2**31 - 1


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int = Field(description="Items matching the filters, on all pages together")
    limit: int = Field(description="Largest number of items on this page")
    offset: int = Field(description="Items before this page")


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int = 0

    def page(self, items: Sequence[T], total: int) -> Page[T]:
        return Page(items=list(items), total=total, limit=self.limit, offset=self.offset)


def page_params(default: int = 100, maximum: int = 1000) -> Callable[..., PageParams]:
    """The dependency reading ``limit`` and ``offset``: ``page: PageParams =
    Depends(page_params(100, 1000))``."""

    def dependency(
        limit: int = Query(default, ge=1, le=maximum,
                           description=f"Items per page, 1 to {maximum}"),
        offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip"),
    ) -> PageParams:
        return PageParams(limit=limit, offset=offset)

    return dependency


def fetch_page(session: Session, stmt: Select[*tuple[Any, ...]], params: PageParams, *,
               rows: bool = False) -> tuple[list[Any], int]:
    """The statement's page and the count of everything it matches, both in SQL. ``stmt``
    carries its filters and a total order; ``rows=True`` returns whole rows (for a
    statement of several entities) instead of the first column."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    sliced = stmt.limit(params.limit).offset(params.offset)
    items: list[Any] = ([*session.execute(sliced).all()] if rows
                        else [*session.scalars(sliced)])
    return items, int(total or 0)
