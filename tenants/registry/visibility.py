"""The one building-scope filter for lists that cross tenants.

Staff see the tenants of the buildings they cover (``Principal.building_scope``);
every query that lists several tenants (the tenant list, the console home's
counts, arrears, billing failures, void numbers, the review queues, lending
pickers and approvals) filters ``core.tenant.building_ids`` through here, so the
rule is written once. A single tenant is checked by ``registry.ref_for_staff``.

``in_scope`` gives the condition as SQL text (for ``queries.py``), ``scope_where``
the same condition for a Piccolo query.
"""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.columns.operators.comparison import ComparisonOperator

from portal.core.roles import Principal
from tenants.registry.tables import Tenant


def scope_ids(principal: Principal) -> list[int] | None:
    """The buildings to filter on, or None when this person sees every building
    (for statements that take the array as a parameter that may be NULL)."""
    scope = principal.building_scope()
    return None if scope is None else sorted(scope)


def in_scope(principal: Principal, args: list, column: str = "t.building_ids") -> str | None:
    """The SQL condition keeping the tenants of this person's buildings
    (``column && $n::int[]``, its array appended to ``args``), or None when
    they see every building."""
    ids = scope_ids(principal)
    if ids is None:
        return None
    args.append(ids)
    return f"{column} && ${len(args)}::int[]"


class _Overlaps(ComparisonOperator):
    """``&&`` as a where-clause operator: unlike ``Array.overlap`` (a bare
    expression) a ``Where`` names its column, so Piccolo adds the join when the
    column is reached through a ForeignKey (``ReviewItem.tenant_id.building_ids``)."""

    template = "{name} && {value}"


def scope_where(principal: Principal, column: Column = Tenant.building_ids) -> Where | None:
    """``in_scope`` for a Piccolo query: the tenant's ``building_ids`` (or that
    column reached through a ForeignKey to the tenant) overlap this person's
    buildings; None when they see every building."""
    ids = scope_ids(principal)
    return None if ids is None else Where(column=column, value=ids, operator=_Overlaps)
