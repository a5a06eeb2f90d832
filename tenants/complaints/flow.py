"""The nine steps of a complaint on the approval engine, by grade, and the
mapping between a ``complaint`` row and the engine's ``Case``.

1 record -> 2 does it stand (if not: a polite reply, and the case closes) ->
3 assign the responsible department -> 4 cause and responsible person ->
5 propose a remedy -> 6 supervisor approves -> 7 general manager approves ->
8 carry out, tell the tenant, collect feedback -> 9 review and lessons.

Each grade has its own flow (same steps, same audit prefix ``complaint``):
who leads steps 2-5 and how long they may take differ. General: anyone
handling complaints, answered within one working day. Serious: the
department head leads, the remedy within two working days. Major:
management (supervisor or general manager) leads. For every grade: the first
response (step 1) within 30 minutes of office time, the answer (step 2)
within 24 hours, carried out within 5 working days, the follow-up (step 9)
within 48 hours of resolution. Steps 6 and 7 are never decided by the person
who decided the step before, nor by the member of staff who recorded the
complaint (no self-approval); any step from 2 on may send the case back.
"""

from __future__ import annotations

from typing import Mapping

from portal.core import approvals
from portal.core.approvals import Deadline, Step
from portal.core.roles import LEADERSHIP, Perm, Role

GRADES = {"general": "General", "serious": "Serious", "major": "Major"}
CHANNELS = {"portal": "Portal", "phone": "Phone call", "visit": "Visit", "letter": "Letter", "email": "E-mail"}
REMEDY_KINDS = {"apology": "Apology", "rework": "Rework", "discount": "Discount",
                "compensation": "Compensation", "other": "Other"}

STEP_LABELS = {
    "record": "Record the complaint",
    "stands": "Decide whether it stands",
    "assign": "Assign the responsible department",
    "cause": "Cause and responsible person",
    "remedy": "Propose a remedy",
    "supervisor": "Supervisor approves",
    "gm": "General manager approves",
    "carry_out": "Carry out and tell the tenant",
    "review": "Review and lessons",
}
STEP_NUMBERS = {name: i + 1 for i, name in enumerate(STEP_LABELS)}

_HANDLE = Perm.COMPLAINT_HANDLE
_ANSWER = Deadline(calendar_hours=24)
_FIRST_RESPONSE = Deadline(working_hours=0.5)
_FOLLOW_UP = Deadline(calendar_hours=48)


def _flow(lead: frozenset[Role], handling: Deadline, remedy: Deadline) -> approvals.Flow:
    return approvals.Flow(
        name="complaint",
        send_back=True,
        reason_field="note",
        steps=(
            Step("record", STEP_LABELS["record"], perm=_HANDLE, not_requester=False, deadline=_FIRST_RESPONSE),
            Step("stands", STEP_LABELS["stands"], roles=lead, perm=_HANDLE, not_requester=False, deadline=_ANSWER),
            Step("assign", STEP_LABELS["assign"], roles=lead, perm=_HANDLE, not_requester=False, deadline=handling),
            Step("cause", STEP_LABELS["cause"], roles=lead, perm=_HANDLE, not_requester=False, deadline=handling),
            Step("remedy", STEP_LABELS["remedy"], roles=lead, perm=_HANDLE, not_requester=False, deadline=remedy),
            Step("supervisor", STEP_LABELS["supervisor"], roles=frozenset({Role.SUPERVISOR}),
                 perm=Perm.COMPLAINT_APPROVE, not_requester=True, not_previous_actor=True,
                 deadline=Deadline(working_days=1)),
            Step("gm", STEP_LABELS["gm"], roles=frozenset({Role.GENERAL_MANAGER}), perm=Perm.COMPLAINT_APPROVE,
                 not_requester=True, not_previous_actor=True, deadline=Deadline(working_days=1)),
            Step("carry_out", STEP_LABELS["carry_out"], perm=_HANDLE, not_requester=False,
                 deadline=Deadline(working_days=5)),
            Step("review", STEP_LABELS["review"], perm=_HANDLE, not_requester=False, deadline=_FOLLOW_UP),
        ),
    )


# One flow per grade, declared at module level (the event test finds them here).
FLOWS = {
    "general": _flow(frozenset(), Deadline(working_days=1), Deadline(working_days=1)),
    "serious": _flow(frozenset({Role.DEPT_HEAD}), Deadline(working_days=1), Deadline(working_days=2)),
    "major": _flow(LEADERSHIP, Deadline(working_days=1), Deadline(working_days=2)),
}
STEPS = tuple(s.name for s in FLOWS["general"].steps)
assert STEPS == tuple(STEP_LABELS)


def flow_of(row: Mapping) -> approvals.Flow:
    return FLOWS[row["grade"]]


def case_of(row: Mapping) -> approvals.Case:
    """The complaint's approval state, read from its columns."""
    if row["status"] == "open":
        outcome = approvals.Outcome.PENDING
    elif row["status"] == "not_upheld":
        outcome = approvals.Outcome.REJECTED
    else:
        outcome = approvals.Outcome.APPROVED
    actors = row["actors"]
    if isinstance(actors, str):
        import json

        actors = json.loads(actors)
    return approvals.Case(requester_id=row["lodged_by_id"], requester_kind=row["lodged_by_kind"],
                          step=row["step"], outcome=outcome, step_started_at=row["step_started_at"],
                          actors={k: int(v) for k, v in (actors or {}).items()})


def earlier_steps(step: str) -> list[str]:
    """Where a send-back from ``step`` may go."""
    return list(STEPS[:STEPS.index(step)])
