"""The approval flows of lending, declared for the approval engine
(``portal.core.approvals``), and the mapping between a ``core.loan`` row and
the engine's ``Case``.

An ordinary request waits for the department head, then for a supervisor who
is not the same person; a request for a file outside one's buildings waits
for one person of the leadership. Nobody decides their own request. The
state stays in the loan's own columns: ``status`` ('requested' waits for the
first step, 'head_approved' for the supervisor), ``head_id`` and
``supervisor_id`` (the leadership's decision is stored as the supervisor's,
as the lending slip shows it).
"""

from __future__ import annotations

from typing import Mapping

from documents.lending_scope import OUTSIDE
from portal.core import approvals
from portal.core.errors import Conflict, Forbidden
from portal.core.roles import LEADERSHIP, Perm, Principal, Role

# The audit rows are loan.approve / loan.reject and loan.outside.approve / loan.outside.reject.
HEAD_THEN_SUPERVISOR = approvals.Flow(name="loan", steps=(
    approvals.Step("head", "Department head", roles=frozenset({Role.DEPT_HEAD}), perm=Perm.LOAN_APPROVE),
    approvals.Step("supervisor", "Supervisor", roles=frozenset({Role.SUPERVISOR}), perm=Perm.LOAN_APPROVE,
                   not_previous_actor=True),
))
LEADERSHIP_ONLY = approvals.Flow(name="loan.outside", steps=(
    approvals.Step("leadership", "Leadership", roles=LEADERSHIP, perm=Perm.LOAN_APPROVE),
))
FLOWS = {"ordinary": HEAD_THEN_SUPERVISOR, OUTSIDE: LEADERSHIP_ONLY}

# The status a loan has while a step waits for its decision.
WAITING_STATUS = {"head": "requested", "supervisor": "head_approved", "leadership": "requested"}
REFUSED = ("refused", "cancelled")


def flow_of(loan: Mapping) -> approvals.Flow:
    return LEADERSHIP_ONLY if loan["mode"] == OUTSIDE else HEAD_THEN_SUPERVISOR


def case_of(loan: Mapping) -> approvals.Case:
    """The loan's approval state, read from its columns."""
    flow = flow_of(loan)
    step = next((s for s in flow.steps if WAITING_STATUS[s.name] == loan["status"]), None)
    actors = {name: loan[column] for name, column in (("head", "head_id"), (flow.steps[-1].name, "supervisor_id"))
              if loan[column] is not None}
    if step is not None:
        outcome = approvals.Outcome.PENDING
    else:
        outcome = approvals.Outcome.REJECTED if loan["status"] in REFUSED else approvals.Outcome.APPROVED
    started = loan["head_at"] if step is not None and step.name == "supervisor" else loan["requested_at"]
    return approvals.Case(requester_id=loan["borrower_id"], step=step.name if step else None, outcome=outcome,
                          step_started_at=started, actors=actors)


def current_step(loan: Mapping) -> approvals.Step | None:
    case = case_of(loan)
    return flow_of(loan).step(case.step) if case.step else None


def may_decide(principal: Principal, loan: Mapping) -> bool:
    """Whether the loan page offers this person the approve/refuse buttons."""
    try:
        approvals.check_may_act(flow_of(loan), case_of(loan), principal)
    except (Conflict, Forbidden):
        return False
    return True


def steps_for(principal: Principal) -> list[tuple[str, str]]:
    """(kind of flow, status) of every step this person may decide: the 'waiting for me' list."""
    return [(kind, WAITING_STATUS[step.name]) for kind, flow in FLOWS.items() for step in flow.steps
            if step.may_act(principal)]
