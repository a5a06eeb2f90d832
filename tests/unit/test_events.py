"""Every event the code can store reads as a sentence in Chinese and English:
no action codes, no JSON, no ``#12``-style ids, amounts as money.

The kinds are found by reading the writers' source, so a new writer without a
sentence fails here rather than on a user's screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from portal import events
from portal.core import approvals, i18n
from tenants.money.ledger import METHODS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("portal", "tenants", "documents", "tasks") for p in (ROOT / d).rglob("*.py")]

# Writers that build the action or field from a variable: every value they can take.
AUDIT_EXPANSIONS = {
    'f"{kind}.login"': ["staff.login", "portal.login"],
    'f"{principal.kind}.logout"': ["staff.logout", "portal.logout"],
    'f"tenant.request.{status}"': ["tenant.request.approved", "tenant.request.rejected"],
    'f"money.deposit.{kind}.request"': ["money.deposit.deduction.request", "money.deposit.refund.request"],
    "f\"money.deposit.{entry['kind']}.{'approve' if approve else 'reject'}\"": [
        "money.deposit.deduction.approve", "money.deposit.refund.approve", "money.deposit.deduction.reject",
        "money.deposit.refund.reject"],
    "f\"money.notice_batch.{'cancel' if status == 'cancelled' else 'resume'}\"": [
        "money.notice_batch.cancel", "money.notice_batch.resume"],
    'f"document.upload.{status}"': ["document.upload.accepted", "document.upload.rejected"],
    'f"loan.approve.{status}"': ["loan.approve.approved", "loan.approve.lent"],
    'f"loan.reminder.{kind}"': ["loan.reminder.due_soon", "loan.reminder.overdue"],
    "action": ["document.download", "document.preview"],
    '"tenant.activate" if active else "tenant.deactivate"': ["tenant.activate", "tenant.deactivate"],
    '"staff.enable" if active else "staff.disable"': ["staff.enable", "staff.disable"],
    "MARKER_ACTION": ["demo.load"],
}
AUDIT_CALL = re.compile(r"audit\.record\(\s*((?:f?\"[^\"]*\")(?:\s+if\s+[^,]+)?|[A-Za-z_][\w.\[\]']*)", re.S)

# Change-log rows: (entity, field, old, new) as the writers store them.
CHANGE_SAMPLES = [
    ("profile", "registered_capital", "100000.00", "250000"), ("profile", "kind", "E", "P"),
    ("profile", "status", "potential", "active"), ("profile", "move_in_date", "", "2026-03-01"),
    ("profile", "level", "0", "2"), ("profile", "source_channel", "sales", "referral"), ("profile", "name", "甲", "乙"),
    ("contact", "created", "", "赵六"), ("contact", "is_primary", "no", "yes"), ("contact", "active", "yes", "no"),
    ("contact", "active", "no", "yes"), ("contact", "mobile", "13800138000", "13900139000"),
    ("file", "created", "", "E1A0001"), ("file", "active", "yes", "no (搬离)"), ("file", "active", "no", "yes"),
    ("document", "requested", "", "营业执照"), ("document", "submitted", "", "营业执照"),
    ("document", "filed", "", "营业执照"), ("document", "rejected", "", "不清晰"), ("document", "version", "1", "2"),
    ("document", "category", "other", "business_licence"), ("document", "confidentiality", "public", "secret"),
    ("document", "visible_to_tenant", "yes", "no"), ("document", "issue_date", "", "2026-01-02"),
    ("deposit", "received", "", "3000.00 YJ2026-000001"),
    ("deposit", "deduction_requested", "", "500.00 损坏赔偿"), ("deposit", "refund_requested", "", "2500.00 退租"),
    ("deposit", "deduction_approved", "", "500.00 损坏赔偿 同意"), ("deposit", "refund_rejected", "", "2500.00 退租"),
    ("charge", "created", "", "水电 1200.50 (抄表)"), ("charge", "adjusted", "1200.50", "1000.00 (减免)"),
    ("charge", "billed", "", "2026-11: 3 charges, 4500.00"),
    ("payment", "recorded", "", f"3000.00 {METHODS['bank_transfer']} REF-1 SK2026-000001"),
    ("payment", "credit_allocated", "", "200.00"), ("payment", "credited", "", "200.00 TS2026-000012 JM2026-000031"), ("payment", "reversed", "3000.00", "0.00 (重复登记)"),
    ("notice", "issued", "", "Notice of arrears CJ2026-000063 1,200.00"),
    ("arrears", "issued", "", "催缴通知书 CJ2026-000064 1,200.00"),
    ("request", "withdrawn", "", "contact_update"),
    ("fee_subscription", "created", "", "parking x 2"),
    ("nonsense_entity", "nonsense_field", "x", "y"),
]

INTERNALS = [
    re.compile(r"\b[a-z]+(?:_[a-z]+)*\.[a-z_]+(?:\.[a-z_]+)*\b"),  # action codes like money.notice.issue
    re.compile(r"#\d"), re.compile(r"[{}]"), re.compile(r"\bfen\b"), re.compile(r"\b(?:True|False|None)\b"),
    re.compile(r"\b(?:anonymous|pending|bank_transfer|contact_update|business_licence|nonsense_\w+)\b"),
    re.compile(r"%\("),
]


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)


def _engine_actions() -> list[str]:
    """What the approval engine writes: every declared flow's decisions (the
    domain modules that declare flows are imported first)."""
    import importlib

    flows = []
    for path in SOURCES:
        if "approvals.Flow(" in path.read_text(encoding="utf-8"):
            module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
            for value in vars(module).values():
                members = value.values() if isinstance(value, dict) else [value]
                flows += [m for m in members if isinstance(m, approvals.Flow)]
    assert flows, "no approval flow found at module level"
    return [action for flow in flows for action in flow.audit_actions()]


def audit_kinds() -> set[str]:
    AUDIT_EXPANSIONS['f"{transition.flow.name}.{transition.decision.value}"'] = _engine_actions()
    kinds: set[str] = set()
    for match in AUDIT_CALL.finditer(_source()):
        expr = match.group(1).strip()
        if expr in AUDIT_EXPANSIONS:
            kinds.update(AUDIT_EXPANSIONS[expr])
        elif expr.startswith('"') and expr.endswith('"'):
            kinds.add(expr.strip('"'))
        else:
            raise AssertionError(f"an audit writer the test does not know how to expand: {expr}")
    return kinds


def _assert_readable(text: str, what: str) -> None:
    assert text.strip(), what
    for pattern in INTERNALS:
        assert not pattern.search(text), f"{what} shows internals ({pattern.pattern}): {text}"


@pytest.fixture(params=["zh", "en"])
def locale(request):
    i18n.set_locale(request.param)
    yield request.param
    i18n.set_locale("zh")


def test_every_audit_kind_the_code_writes_has_its_own_sentence(locale):
    kinds = audit_kinds()
    assert len(kinds) > 50 and "money.notice.issue" in kinds and "tenant.request.withdrawn" in kinds
    assert not kinds - set(events.AUDIT_SENTENCES), "kinds without a sentence"
    for kind in kinds:
        row = {"action": kind, "outcome": "ok", "target": "notice:12", "actor_kind": "staff", "actor_name": "陈明",
               "detail": '{"fen": 300000, "kind": "arrears", "reason": "重复", "batch_id": 7, "fields": ["is_primary"]}'}
        _assert_readable(events.audit_sentence(row), kind)
        _assert_readable(events.audit_details(row), kind)
    details = events.audit_details({"detail": {"fen": 300000, "batch_id": 7}})
    assert "¥3,000.00" in details and "7" not in details.replace("3,000", "")


def test_unknown_audit_kind_and_actor_read_as_sentences(locale):
    row = {"action": "zz.something.new", "outcome": "ok", "target": "x:1", "detail": {"weird": [1]}}
    _assert_readable(events.audit_sentence(row), "unknown kind")
    assert events.audit_details(row) == ""
    _assert_readable(events.actor_with_kind("anonymous", "陈明"), "anonymous actor")
    assert "陈明" in events.actor_with_kind("anonymous", "陈明")
    _assert_readable(events.actor_with_kind("system", ""), "system actor")


def test_every_change_log_kind_the_code_writes_has_a_sample():
    """The samples above cover every (entity, field) a writer passes as literals."""
    covered = {(e, f) for e, f, _, _ in CHANGE_SAMPLES}
    entities = {e for e, _ in covered}
    source = _source()
    for entity in re.findall(r"_log\(conn, \w+, \"(\w+)\"", source) + re.findall(r"entity = \"(\w+)\"", source):
        assert entity in entities, entity
    for field in re.findall(r"log_change\([^)]*?, \"(\w+)\", \"\"", source):
        assert ("document", field) in covered, field
    # The one change-log writer: changelog.record(actor, "entity", "field", ...).
    recorded = re.findall(r"changelog\.record\(\s*(?:[^,()]|\([^()]*\))+,\s*\"(\w+)\",\s*\"(\w+)\"", source)
    assert recorded, "no changelog.record(...) writer found: the pattern above is stale"
    for entity, field in recorded:
        assert (entity, field) in covered, (entity, field)
    fields = {f for _, f in covered}
    for values in re.findall(r"INSERT INTO change_log [^;]*?VALUES \(([^)]*)\)", source):
        for literal in re.findall(r"'(\w+)'", values):  # SQL writers: actor kind/name, entity, field
            assert literal in entities | fields | {"staff", "system", "portal", "billing"}, literal


@pytest.mark.parametrize("entity, field, old, new", CHANGE_SAMPLES)
def test_change_log_rows_read_as_sentences(locale, entity, field, old, new):
    row = {"entity": entity, "entity_id": 12, "field": field, "old_value": old, "new_value": new,
           "actor_kind": "system" if entity == "charge" and field == "billed" else "staff",
           "actor_name": "billing" if field == "billed" else "陈明", "approved_by": ""}
    text = events.change_sentence(row, contact_names={12: "赵六"})
    _assert_readable(text, f"{entity}/{field}")
    if re.match(r"-?\d+\.\d\d\b", new) or entity == "payment":
        assert "¥" in text, text
    if locale == "en":
        assert "Bank transfer" in text if field == "recorded" else True


def test_values_are_localized(locale):
    assert events.money("3000") == "¥3,000.00" and events.money_fen(-12345) == "-¥123.45"
    yes = events.value("is_primary", True)
    assert yes == ("是" if locale == "zh" else "yes") and events.value("is_primary", "yes") == yes
    assert events.value("name", "yes") == "yes"  # free text is left alone
    assert "2026" in events.date("2026-03-01") and "-" not in events.date("2026-03-01")
    assert events.status("pending") == ("等待审核" if locale == "zh" else "Waiting for review")
    assert events.status("made_up") not in ("made_up", "")


def test_notice_titles_follow_the_reader(locale):
    zh_title = i18n.translations("zh").gettext("Notice of arrears")
    for stored in (f"{zh_title} CJ2026-000001 1,200.00", "Notice of arrears CJ2026-000001"):
        shown = events.notice_title(stored)
        assert "CJ2026-000001" in shown
        assert (zh_title in shown) == (locale == "zh") and ("Notice of arrears" in shown) == (locale == "en")


def test_every_event_string_is_translated():
    known = i18n.catalog_ids("zh")
    found = [message for path in sorted((ROOT / "portal" / "events").glob("*.py"))
             for _, message, _, _ in extract_from_file(
                 "python", str(path), keywords={"_": None, "N_": None, "_sentence": None})]
    assert len(found) > 150
    assert not [m for m in found if m not in known]
