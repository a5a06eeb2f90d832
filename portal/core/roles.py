"""Roles, what each may do, and whose files each may see.

Permissions follow duties (DOMAIN.md "Access"): a clerk or technician sees the
tenants of the buildings assigned to them, a department head those of the
department's buildings; archive, finance and management see every building;
the auditor reads but never changes; the admin manages accounts and does not
read tenant files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Mapping


class Role(StrEnum):
    CLERK = "clerk"
    ARCHIVIST = "archivist"
    FINANCE = "finance"
    DEPT_HEAD = "dept_head"
    SUPERVISOR = "supervisor"
    GENERAL_MANAGER = "general_manager"
    TECHNICIAN = "technician"
    AUDITOR = "auditor"
    ADMIN = "admin"
    DISPATCHER = "dispatcher"


class Perm(StrEnum):
    TENANT_READ = "tenant.read"
    TENANT_WRITE = "tenant.write"
    TENANT_CREATE = "tenant.create"
    TENANT_DEACTIVATE = "tenant.deactivate"
    PORTAL_INVITE = "portal.invite"
    REVIEW_DECIDE = "review.decide"
    STAFF_MANAGE = "staff.manage"
    AUDIT_READ = "audit.read"
    # Money (issue 4): reading a tenant's ledger, recording money, approving
    # deposit deductions/refunds (a second person), running billing and notice batches.
    MONEY_READ = "money.read"
    MONEY_WRITE = "money.write"
    MONEY_APPROVE = "money.approve"
    BILLING_RUN = "billing.run"
    # The office calendar (holidays and make-up working days that deadlines count with).
    CALENDAR_MANAGE = "calendar.manage"
    # Lending (借阅): asking to borrow or export files, approving a step of a
    # request, handling the archive side (paper out/in, exports, accompanying).
    LOAN_REQUEST = "loan.request"
    LOAN_APPROVE = "loan.approve"
    LOAN_HANDLE = "loan.handle"
    # Repairs (issue 9): reporting on a tenant's behalf, dispatching by hand and
    # keeping the technicians' roster, a technician's own work on assigned orders.
    REPAIR_REPORT = "repair.report"
    REPAIR_DISPATCH = "repair.dispatch"
    REPAIR_WORK = "repair.work"
    # Complaints (投诉): recording one and handling its steps; approving a remedy
    # (the supervisor's and the general manager's steps).
    COMPLAINT_HANDLE = "complaint.handle"
    COMPLAINT_APPROVE = "complaint.approve"
    # Satisfaction surveys: preparing, sending and analysing them (and their corrective
    # actions); approving the analysis report before it is issued (the general manager).
    SURVEY_MANAGE = "survey.manage"
    SURVEY_APPROVE = "survey.approve"
    # Retention (issue 10): editing retention classes and reading the disposition
    # list; opening dormant files in the restricted archive view and reactivating them.
    RETENTION_MANAGE = "retention.manage"
    ARCHIVE_OPEN = "archive.open"
    # Legal holds and destruction (issue 10): placing/releasing holds (archivists and
    # management), asking for and reviewing a destruction (the archive department),
    # approving it (the leadership), reading the hold and destruction registers.
    HOLD_MANAGE = "hold.manage"
    DESTRUCTION_REQUEST = "destruction.request"
    DESTRUCTION_REVIEW = "destruction.review"
    DESTRUCTION_APPROVE = "destruction.approve"
    DESTRUCTION_READ = "destruction.read"


_ALL_READ = {Perm.TENANT_READ}
_EDIT = {Perm.TENANT_READ, Perm.TENANT_WRITE, Perm.PORTAL_INVITE, Perm.REVIEW_DECIDE}

_MONEY_ALL = {Perm.MONEY_READ, Perm.MONEY_WRITE, Perm.MONEY_APPROVE, Perm.BILLING_RUN}
# Approvers (department head, then supervisor; the leadership for files outside
# one's buildings) also handle the archive side. The auditor never asks to borrow.
_LEND = {Perm.LOAN_REQUEST}
_LEND_LEAD = {Perm.LOAN_REQUEST, Perm.LOAN_APPROVE, Perm.LOAN_HANDLE}

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.CLERK: frozenset(_EDIT | _LEND | {Perm.TENANT_CREATE, Perm.MONEY_READ}),
    Role.ARCHIVIST: frozenset(_EDIT | _LEND | {Perm.LOAN_HANDLE, Perm.TENANT_CREATE, Perm.TENANT_DEACTIVATE,
                                              Perm.MONEY_READ}),
    Role.FINANCE: frozenset(_ALL_READ | _LEND | _MONEY_ALL),
    Role.DEPT_HEAD: frozenset(_EDIT | _LEND_LEAD | {Perm.TENANT_CREATE, Perm.TENANT_DEACTIVATE, Perm.MONEY_READ,
                                                   Perm.MONEY_APPROVE}),
    Role.SUPERVISOR: frozenset(_EDIT | _LEND_LEAD | {Perm.TENANT_CREATE, Perm.TENANT_DEACTIVATE, Perm.MONEY_READ,
                                                    Perm.MONEY_APPROVE}),
    Role.GENERAL_MANAGER: frozenset(_EDIT | _LEND_LEAD | _MONEY_ALL | {Perm.TENANT_CREATE, Perm.TENANT_DEACTIVATE}),
    Role.TECHNICIAN: frozenset(_ALL_READ | _LEND),
    Role.AUDITOR: frozenset({Perm.TENANT_READ, Perm.AUDIT_READ, Perm.MONEY_READ}),
    Role.ADMIN: frozenset({Perm.STAFF_MANAGE, Perm.CALENDAR_MANAGE}),
    Role.DISPATCHER: frozenset(_ALL_READ | {Perm.REPAIR_REPORT, Perm.REPAIR_DISPATCH}),
}
# Repairs: clerks and department heads report on a tenant's behalf; the
# department heads and supervisors (who get the escalations) also dispatch.
_REPAIRS = {
    Role.CLERK: {Perm.REPAIR_REPORT},
    Role.DEPT_HEAD: {Perm.REPAIR_REPORT, Perm.REPAIR_DISPATCH},
    Role.SUPERVISOR: {Perm.REPAIR_REPORT, Perm.REPAIR_DISPATCH},
    Role.GENERAL_MANAGER: {Perm.REPAIR_REPORT},
    Role.TECHNICIAN: {Perm.REPAIR_WORK},
}
for _role, _perms in _REPAIRS.items():
    ROLE_PERMS[_role] = ROLE_PERMS[_role] | frozenset(_perms)
# Complaints: front-line staff and the leadership handle them; the leadership approves remedies.
for _role in (Role.CLERK, Role.DEPT_HEAD, Role.SUPERVISOR, Role.GENERAL_MANAGER):
    ROLE_PERMS[_role] = ROLE_PERMS[_role] | {Perm.COMPLAINT_HANDLE}
for _role in (Role.SUPERVISOR, Role.GENERAL_MANAGER):
    ROLE_PERMS[_role] = ROLE_PERMS[_role] | {Perm.COMPLAINT_APPROVE}

# Satisfaction surveys (issue 9 §3): department heads, supervisors and the general manager.
_SURVEY_ROLES = {Role.DEPT_HEAD: {Perm.SURVEY_MANAGE}, Role.SUPERVISOR: {Perm.SURVEY_MANAGE},
                 Role.GENERAL_MANAGER: {Perm.SURVEY_MANAGE, Perm.SURVEY_APPROVE}}
for _role, _perms in _SURVEY_ROLES.items():
    ROLE_PERMS[_role] = ROLE_PERMS[_role] | frozenset(_perms)

# Archivists and the leadership keep the archive: retention classes, the
# disposition list, dormant files (seed 002: restricted access).
_ARCHIVE_KEEPERS = (Role.ARCHIVIST, Role.SUPERVISOR, Role.GENERAL_MANAGER)
for _role in _ARCHIVE_KEEPERS:
    ROLE_PERMS[_role] = ROLE_PERMS[_role] | {Perm.RETENTION_MANAGE, Perm.ARCHIVE_OPEN}

# Legal holds and destruction (issue 10), added to the roles above.
_DESTRUCTION = {
    Role.ARCHIVIST: {Perm.HOLD_MANAGE, Perm.DESTRUCTION_REQUEST, Perm.DESTRUCTION_REVIEW, Perm.DESTRUCTION_READ},
    Role.SUPERVISOR: {Perm.HOLD_MANAGE, Perm.DESTRUCTION_APPROVE, Perm.DESTRUCTION_READ},
    Role.GENERAL_MANAGER: {Perm.HOLD_MANAGE, Perm.DESTRUCTION_APPROVE, Perm.DESTRUCTION_READ},
    Role.AUDITOR: {Perm.DESTRUCTION_READ},
    Role.DEPT_HEAD: {Perm.DESTRUCTION_REQUEST},  # a department asks; the archive department reviews
}
ROLE_PERMS = {role: frozenset(perms | _DESTRUCTION.get(role, set())) for role, perms in ROLE_PERMS.items()}

# Roles whose duties cover every building; the others are limited to theirs.
ALL_BUILDINGS = frozenset(
    {Role.ARCHIVIST, Role.FINANCE, Role.SUPERVISOR, Role.GENERAL_MANAGER, Role.AUDITOR}
)

# The leadership (公司领导) who approve access to a file outside one's buildings.
LEADERSHIP = frozenset({Role.SUPERVISOR, Role.GENERAL_MANAGER})

ROLE_LABELS = {
    Role.CLERK: "Clerk",
    Role.ARCHIVIST: "Archivist",
    Role.FINANCE: "Finance",
    Role.DEPT_HEAD: "Department head",
    Role.SUPERVISOR: "Supervisor",
    Role.GENERAL_MANAGER: "General manager",
    Role.TECHNICIAN: "Technician",
    Role.AUDITOR: "Auditor",
    Role.ADMIN: "Administrator",
    Role.DISPATCHER: "Dispatcher",
}


@dataclass(frozen=True)
class Principal:
    """Who is making the request: a staff member or a tenant's portal user."""

    kind: str  # "staff" | "portal"
    user_id: int
    name: str
    roles: frozenset[Role] = frozenset()
    building_ids: frozenset[int] = frozenset()
    tenant_id: int | None = None  # portal users only
    # A portal user's tenant registry row (id, schema_name, name, archive_no, building_ids, active),
    # read in the same query as the user: the portal's tenant dependency needs no query of its own.
    tenant_row: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    must_change_password: bool = False  # staff with a temporary password
    session_id: str = field(default="", repr=False)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_portal(self) -> bool:
        return self.kind == "portal"

    @property
    def perms(self) -> frozenset[Perm]:
        out: set[Perm] = set()
        for role in self.roles:
            out |= ROLE_PERMS.get(role, frozenset())
        return frozenset(out)

    def can(self, perm: Perm) -> bool:
        return self.is_staff and perm in self.perms

    @property
    def sees_all_buildings(self) -> bool:
        return bool(self.roles & ALL_BUILDINGS)

    def building_scope(self) -> frozenset[int] | None:
        """None means every building; otherwise the buildings this person covers."""
        return None if self.sees_all_buildings else self.building_ids

    def may_see_tenant(self, tenant_building_ids) -> bool:
        if not self.can(Perm.TENANT_READ):
            return False
        scope = self.building_scope()
        return scope is None or bool(scope & set(tenant_building_ids or ()))
