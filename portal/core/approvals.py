"""One engine for multi-step approvals.

A ``Flow`` is an ordered tuple of ``Step``s. Each step says who may act (roles
and/or a permission), whether the requester is excluded (``not_requester``)
and whether the person who decided the step before is excluded
(``not_previous_actor``), and may carry a ``Deadline`` in working days,
working hours (``portal.core.workdays``) or calendar hours. At any step the
person acting may approve (the case moves to the next step, or ends
approved), reject with a reason (the case ends rejected) or, when the flow
allows it, send the case back with a reason to an earlier step.

Where the state lives: in the domain's own rows, not in an engine table. A
``Case`` is a small value the domain builds from its columns (status, who
requested, who decided which step, when the step started) and writes back
from ``Transition.after``, in the same transaction as the rest of its change.
So a tenant-schema flow (deposit deductions, complaints) keeps its state in
that tenant's schema and a core flow (lending, destruction) in ``core``: no
table that crosses the tenant boundary, no join to read a case's status, and
each domain's status column keeps the names its pages and reports already
use. The engine computes the transition, validates it (raising the kernel's
localized domain errors) and writes one audit row per decision (``record``,
inside the caller's transaction). ``overdue`` lists the steps past their
deadline, for escalation beat tasks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Generic, Iterable, Mapping, TypeVar

from portal.core import audit
from portal.core.roles import Perm, Principal, Role
from portal.core.workdays import SHANGHAI, WorkCalendar, now
from portal.core.errors import Conflict, Forbidden, FormErrors

K = TypeVar("K")


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SEND_BACK = "send_back"


class Outcome(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Deadline:
    """How long a step may wait: exactly one of the three."""

    working_days: int = 0  # due at close of office on the n-th working day after the step started
    working_hours: float = 0  # office time (lunch breaks, nights, holidays do not count)
    calendar_hours: float = 0  # around the clock

    def __post_init__(self) -> None:
        if sum(1 for v in (self.working_days, self.working_hours, self.calendar_hours) if v) != 1:
            raise ValueError("a deadline is in working days, working hours or calendar hours (one of them)")

    def due(self, started_at: dt.datetime, calendar: WorkCalendar) -> dt.datetime:
        if self.working_days:
            local_day = started_at.astimezone(SHANGHAI).date()
            return calendar.close_of(calendar.add_working_days(local_day, self.working_days))
        if self.working_hours:
            return calendar.add_working_hours(started_at, hours=self.working_hours)
        return calendar.add(started_at, dt.timedelta(hours=self.calendar_hours), around_the_clock=True)


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # English message id, for pages
    roles: frozenset[Role] = frozenset()  # any one of them; empty: any staff member holding ``perm``
    perm: Perm | None = None
    not_requester: bool = True
    not_previous_actor: bool = False
    deadline: Deadline | None = None

    def may_act(self, principal: Principal) -> bool:
        if not principal.is_staff:
            return False
        if self.perm is not None and not principal.can(self.perm):
            return False
        return not self.roles or bool(principal.roles & self.roles)


@dataclass(frozen=True)
class Case:
    """A flow's state as the domain stores it."""

    requester_id: int | None
    step: str | None  # the step waiting for a decision; None once the case is finished
    outcome: Outcome = Outcome.PENDING
    step_started_at: dt.datetime | None = None
    actors: Mapping[str, int] = field(default_factory=dict)  # step name -> staff id who decided it
    requester_kind: str = "staff"  # 'portal' when a tenant's user asked (ids are per kind)


@dataclass(frozen=True)
class Flow:
    """Declared once per kind of decision, at module level (the event
    renderer's test finds every flow there)."""

    name: str  # also the audit action prefix, e.g. "money.deposit.deduction"
    steps: tuple[Step, ...]
    reason_field: str = "reason"  # the form field that carries a refusal's reason
    send_back: bool = False  # may a step return the case to an earlier step?

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"flow {self.name}: steps need unique names")

    def audit_actions(self) -> list[str]:
        """Every audit action a decision in this flow can write."""
        decisions = [Decision.APPROVE, Decision.REJECT] + ([Decision.SEND_BACK] if self.send_back else [])
        return [f"{self.name}.{d.value}" for d in decisions]

    def index(self, name: str) -> int:
        for i, step in enumerate(self.steps):
            if step.name == name:
                return i
        raise KeyError(name)

    def step(self, name: str) -> Step:
        return self.steps[self.index(name)]

    def start(self, requester_id: int | None, at: dt.datetime | None = None, requester_kind: str = "staff") -> Case:
        return Case(requester_id=requester_id, step=self.steps[0].name, step_started_at=at or now(),
                    requester_kind=requester_kind)


@dataclass(frozen=True)
class Transition:
    flow: Flow
    step: Step  # the step that was decided
    decision: Decision
    before: Case
    after: Case
    actor_id: int
    actor_name: str
    reason: str
    at: dt.datetime

    @property
    def finished(self) -> bool:
        return self.after.step is None


def check_may_act(flow: Flow, case: Case, principal: Principal, expected_step: str | None = None) -> Step:
    """The current step, if ``principal`` may decide it now; else a domain error."""
    if case.outcome != Outcome.PENDING or case.step is None:
        raise Conflict("This has already been decided.")
    if expected_step is not None and expected_step != case.step:
        raise Conflict("This step is no longer waiting for a decision. Reload the page.")
    step = flow.step(case.step)
    if not step.may_act(principal):
        raise Forbidden("You may not decide this step.")
    if step.not_requester and case.requester_kind == principal.kind and case.requester_id == principal.user_id:
        raise Forbidden("A second person must decide what you requested.")
    index = flow.index(step.name)
    if step.not_previous_actor and index > 0 and case.actors.get(flow.steps[index - 1].name) == principal.user_id:
        raise Forbidden("The person who decided the previous step may not decide this one.")
    return step


def decide(flow: Flow, case: Case, principal: Principal, decision: Decision | str, *, reason: str = "",
           to_step: str | None = None, expected_step: str | None = None,
           at: dt.datetime | None = None) -> Transition:
    """Validate one decision and compute the case after it (nothing is written).

    ``expected_step`` is the step the person saw (a stale form is refused);
    ``to_step`` is where a send-back goes (default: the step before).
    """
    try:
        decision = Decision(decision)
    except ValueError:
        raise FormErrors({"decision": "Choose one of the options."}) from None
    step = check_may_act(flow, case, principal, expected_step)
    reason = (reason or "").strip()[:500]
    at = at or now()
    index = flow.index(step.name)
    if decision == Decision.APPROVE:
        actors = {**case.actors, step.name: principal.user_id}
        if index + 1 < len(flow.steps):
            after = replace(case, step=flow.steps[index + 1].name, step_started_at=at, actors=actors)
        else:
            after = replace(case, step=None, outcome=Outcome.APPROVED, step_started_at=None, actors=actors)
    elif decision == Decision.REJECT:
        if not reason:
            raise FormErrors({flow.reason_field: "Give a reason for the rejection."})
        after = replace(case, step=None, outcome=Outcome.REJECTED, step_started_at=None,
                        actors={**case.actors, step.name: principal.user_id})
    else:
        target = _send_back_target(flow, index, to_step)
        if not reason:
            raise FormErrors({flow.reason_field: "Give a reason for sending it back."})
        # The steps from the target on are decided again, by whoever may then.
        redo = {s.name for s in flow.steps[target:]}
        after = replace(case, step=flow.steps[target].name, step_started_at=at,
                        actors={k: v for k, v in case.actors.items() if k not in redo})
    return Transition(flow=flow, step=step, decision=decision, before=case, after=after,
                      actor_id=principal.user_id, actor_name=principal.name, reason=reason, at=at)


def _send_back_target(flow: Flow, index: int, to_step: str | None) -> int:
    if not flow.send_back:
        raise Conflict("This approval cannot be sent back.")
    if index == 0:
        raise Conflict("The first step has no earlier step to send back to.")
    if to_step is None:
        return index - 1
    try:
        target = flow.index(to_step)
    except KeyError:
        target = index
    if target >= index:
        raise FormErrors({"to_step": "Choose an earlier step."})
    return target


async def record(transition: Transition, principal: Principal, *, tenant_id: int | None = None,
                 target: str = "", detail: Mapping[str, Any] | None = None) -> None:
    """The decision's audit row (``<flow>.<decision>``), in the caller's transaction."""
    await audit.record(
        f"{transition.flow.name}.{transition.decision.value}", principal=principal, tenant_id=tenant_id,
        target=target,
        detail={"step": transition.step.name, "reason": transition.reason, "next_step": transition.after.step,
                "outcome": transition.after.outcome.value, **(detail or {})},
    )


def due_at(flow: Flow, case: Case, calendar: WorkCalendar) -> dt.datetime | None:
    """When the current step is due; None without a deadline or once finished."""
    if case.step is None or case.outcome != Outcome.PENDING or case.step_started_at is None:
        return None
    deadline = flow.step(case.step).deadline
    return deadline.due(case.step_started_at, calendar) if deadline else None


@dataclass(frozen=True)
class Overdue(Generic[K]):
    key: K  # whatever the caller identifies the case by (a row id, (tenant, id) ...)
    step: Step
    due_at: dt.datetime


def overdue(flow: Flow, cases: Iterable[tuple[K, Case]], calendar: WorkCalendar,
            at: dt.datetime | None = None) -> list[Overdue[K]]:
    """The cases whose current step is past its deadline at ``at``, most overdue first."""
    at = at or now()
    late = []
    for key, case in cases:
        due = due_at(flow, case, calendar)
        if due is not None and at > due:
            late.append(Overdue(key=key, step=flow.step(case.step), due_at=due))
    return sorted(late, key=lambda o: o.due_at)
