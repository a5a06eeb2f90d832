"""Stored events as sentences a person reads: change-log rows, audit rows and
review statuses, in the current UI language.

The writers store codes (``payment``/``recorded``, ``money.notice.issue``,
``{"fen": 300000}``); every page and export that people read goes through
here, so no code, JSON or internal id reaches the screen. An event kind
without a sentence of its own gets a generic one, never its code.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from portal.core.i18n import N_, get_locale, gettext as _

SHANGHAI = ZoneInfo("Asia/Shanghai")
_AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?)(?:\s+(.*))?$", re.S)
_CHARGE = re.compile(r"^(.*?)\s*(-?\d+\.\d{2})\s*(?:\((.*)\))?$", re.S)
_BILLED = re.compile(r"^(\d{4}-\d{2}): (\d+) charges, (-?\d+\.\d{2})$")
_REASON = re.compile(r"^(.*?)\s*\((.*)\)$", re.S)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- values ------------------------------------------------------------------------------------

def money(value: Any) -> str:
    """Yuan (number or text) -> '¥3,000.00'; fen as int with ``fen=True`` via ``money_fen``."""
    try:
        amount = Decimal(str(value).replace(",", ""))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def money_fen(fen: int) -> str:
    return money(Decimal(int(fen)) / 100)


def date(value: dt.date | str | None) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value, "long", locale=_babel_locale())


def when(value: dt.datetime | None) -> str:
    """A moment, in Shanghai time, as the language writes it."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    pattern = "y年M月d日 HH:mm" if get_locale() == "zh" else "d MMM y, HH:mm"
    return format_datetime(value.astimezone(SHANGHAI), pattern, locale=_babel_locale())


def _babel_locale() -> str:
    return "zh_Hans_CN" if get_locale() == "zh" else "en_GB"


def _choice_labels() -> dict[str, Mapping]:
    from documents.service import CATEGORIES, CONFIDENTIALITY
    from tenants.file import forms

    return {"kind": forms.KIND_LABELS, "status": forms.STATUS_LABELS, "source_channel": forms.SOURCE_LABELS,
            "level": {str(k): v for k, v in forms.LEVEL_LABELS.items()}, "category": CATEGORIES,
            "confidentiality": CONFIDENTIALITY}


YES_NO = {"yes": N_("yes"), "no": N_("no"), "true": N_("yes"), "false": N_("no")}
FLAG_FIELDS = frozenset({"is_primary", "is_emergency", "receives_notices", "active", "visible_to_tenant"})


def value(field: str, raw: Any) -> str:
    """A stored field value as the reader should see it: yes/no, labels for
    codes, dates and money written out. Free text is returned as it is."""
    if raw is None or raw == "":
        return ""
    if isinstance(raw, bool):
        return _("yes") if raw else _("no")
    text = str(raw)
    if field in FLAG_FIELDS and text.lower() in YES_NO:
        return _(YES_NO[text.lower()])
    labels = _choice_labels().get(field)
    if labels and text in labels:
        return _(labels[text])
    if field == "registered_capital":
        return money(text)
    if _ISO_DATE.match(text):
        return date(text)
    return text


def field_label(field: str) -> str:
    from tenants.file.forms import FIELD_LABELS

    label = FIELD_LABELS.get(field) or DOCUMENT_FIELD_LABELS.get(field)
    return _(label) if label else _("a detail")


DOCUMENT_FIELD_LABELS = {
    "category": N_("Category"), "title": N_("Title"), "issue_date": N_("Issue date"),
    "received_date": N_("Received date"), "pages": N_("Pages"), "paper_location": N_("Paper location"),
    "confidentiality": N_("Confidentiality"), "visible_to_tenant": N_("Visible to the tenant"),
}


# --- actors ------------------------------------------------------------------------------------

ACTOR_KINDS = {"staff": N_("staff"), "portal": N_("tenant user"), "system": N_("system"), "anonymous": N_("not signed in")}


# Names the background jobs write as their actor.
SYSTEM_NAMES = frozenset({"", "system", "billing", "beat"})


def actor(kind: str, name: str) -> str:
    """Who did it, as a sentence subject: the person's name; the system by its role."""
    return _("The system") if kind == "system" or name in SYSTEM_NAMES else name


def actor_with_kind(kind: str, name: str) -> str:
    """For the audit log: the name and, when not a signed-in person, what it was."""
    label = _(ACTOR_KINDS[kind]) if kind in ACTOR_KINDS else ""
    if kind == "system" or name in SYSTEM_NAMES - {""}:
        return _("The system")
    if kind == "anonymous":
        return _("%(name)s (not signed in)") % {"name": name} if name else _("Someone not signed in")
    if not name:
        return _("The system")
    return f"{name} · {label}" if label else name


def names_by_id(rows) -> dict[int, str]:
    """Contact id -> name, for sentences about a contact."""
    return {r["id"]: r["name"] for r in rows}


# --- change log --------------------------------------------------------------------------------

def _split_amount(text: str) -> tuple[str, str]:
    match = _AMOUNT.match((text or "").strip())
    if not match:
        return "", (text or "").strip()
    return money(match.group(1)), (match.group(2) or "").strip()


def _method_and_rest(rest: str) -> tuple[str, str]:
    from tenants.money.ledger import METHODS

    for label in sorted(METHODS.values(), key=len, reverse=True):
        if rest.startswith(label):
            return _(label), rest[len(label):].strip()
    return "", rest


def _sentence(msgid: str, **params: str) -> str:
    return _(msgid) % params


def _join(*sentences: str) -> str:
    """Sentences one after another: Chinese needs no space after its full stop."""
    return ("" if get_locale() == "zh" else " ").join(s for s in sentences if s)


_RECEIPT_NO = re.compile(r"^[A-Z]{2}\d{4}-\d+$")


def _field_change(who: str, label: str, old: str, new: str, subject: str = "") -> str:
    params = {"actor": who, "field": label, "old": old, "new": new, "subject": subject}
    if subject:
        if not old:
            return _sentence("%(actor)s set %(field)s of %(subject)s to “%(new)s”.", **params)
        if not new:
            return _sentence("%(actor)s cleared %(field)s of %(subject)s (was “%(old)s”).", **params)
        return _sentence("%(actor)s changed %(field)s of %(subject)s from “%(old)s” to “%(new)s”.", **params)
    if not old:
        return _sentence("%(actor)s set %(field)s to “%(new)s”.", **params)
    if not new:
        return _sentence("%(actor)s cleared %(field)s (was “%(old)s”).", **params)
    return _sentence("%(actor)s changed %(field)s from “%(old)s” to “%(new)s”.", **params)


def _profile(e: Mapping, who: str, ctx: Mapping) -> str:
    f = e["field"]
    return _field_change(who, field_label(f), value(f, e["old_value"]), value(f, e["new_value"]))


def _contact(e: Mapping, who: str, ctx: Mapping) -> str:
    f, name = e["field"], ctx.get("contact_names", {}).get(e["entity_id"], "")
    subject = _("the contact %(name)s") % {"name": name} if name else _("a contact")
    if f == "created":
        return _sentence("%(actor)s added the contact %(name)s.", actor=who, name=e["new_value"] or name)
    if f == "active":
        if value(f, e["new_value"]) == _("no"):
            return _sentence("%(actor)s removed %(subject)s.", actor=who, subject=subject)
        return _sentence("%(actor)s restored %(subject)s.", actor=who, subject=subject)
    return _field_change(who, field_label(f), value(f, e["old_value"]), value(f, e["new_value"]), subject)


def _file(e: Mapping, who: str, ctx: Mapping) -> str:
    if e["field"] == "created":
        return _sentence("%(actor)s opened the tenant file %(number)s.", actor=who, number=e["new_value"] or "")
    if e["field"] == "active":
        match = _REASON.match(e["new_value"] or "")
        flag, reason = (match.group(1), match.group(2)) if match else (e["new_value"] or "", "")
        if value("active", flag) == _("no"):
            return _join(_sentence("%(actor)s deactivated the tenant file.", actor=who),
                         _sentence("Reason: %(reason)s.", reason=reason) if reason else "")
        return _sentence("%(actor)s reactivated the tenant file.", actor=who)
    return _generic(e, who, ctx)


DOCUMENT_SENTENCES = {
    "requested": N_("%(actor)s asked the tenant for the document “%(title)s”."),
    "submitted": N_("%(actor)s submitted the document “%(title)s” for review."),
    "filed": N_("%(actor)s filed the document “%(title)s”."),
    "rejected": N_("The document %(actor)s uploaded was rejected. Reason: %(title)s."),
}


def _document(e: Mapping, who: str, ctx: Mapping) -> str:
    f = e["field"]
    if f in DOCUMENT_SENTENCES:
        title = e["new_value"] or ""  # a generated notice's title is in the notice's language
        return _sentence(DOCUMENT_SENTENCES[f], actor=who, title=title if f == "rejected" else notice_title(title))
    if f == "version":
        return _sentence("%(actor)s uploaded version %(version)s of a document.", actor=who,
                         version=e["new_value"] or "")
    return _field_change(who, field_label(f), value(f, e["old_value"]), value(f, e["new_value"]),
                         _("a document"))


DEPOSIT_KINDS = {"receipt": N_("receipt"), "deduction": N_("deduction"), "refund": N_("refund")}


def _deposit(e: Mapping, who: str, ctx: Mapping) -> str:
    f = e["field"]
    amount, rest = _split_amount(e["new_value"])
    if f == "received":
        return _sentence("%(actor)s received a deposit of %(amount)s (receipt %(receipt)s).", actor=who,
                         amount=amount, receipt=rest)
    kind, _sep, step = f.rpartition("_")
    params = {"actor": who, "amount": amount, "kind": _(DEPOSIT_KINDS.get(kind, N_("change"))), "note": rest}
    msgid = {
        "requested": N_("%(actor)s asked for a deposit %(kind)s of %(amount)s: %(note)s"),
        "approved": N_("%(actor)s approved a deposit %(kind)s of %(amount)s: %(note)s"),
        "rejected": N_("%(actor)s refused a deposit %(kind)s of %(amount)s: %(note)s"),
    }.get(step)
    return (_(msgid) % params).rstrip(": ：") if msgid else _generic(e, who, ctx)


def _charge(e: Mapping, who: str, ctx: Mapping) -> str:
    f = e["field"]
    if f == "billed":
        match = _BILLED.match(e["new_value"] or "")
        if match:
            return _sentence("%(actor)s billed %(count)s charges for %(period)s, %(amount)s in all.", actor=who,
                             count=match.group(2), period=match.group(1), amount=money(match.group(3)))
    if f == "created":
        match = _CHARGE.match(e["new_value"] or "")
        if match:
            what = charge_description({"description": match.group(1)}, ctx.get("fee_items", {}))
            return _sentence("%(actor)s added the charge “%(what)s” of %(amount)s (%(reason)s).", actor=who,
                             what=what, amount=money(match.group(2)), reason=match.group(3) or "")
    if f == "adjusted":
        match = _CHARGE.match(e["new_value"] or "")
        if match:
            return _sentence("%(actor)s adjusted a charge from %(old)s to %(new)s (%(reason)s).", actor=who,
                             old=money(e["old_value"]), new=money(match.group(2)), reason=match.group(3) or "")
    return _generic(e, who, ctx)


def _payment(e: Mapping, who: str, ctx: Mapping) -> str:
    f = e["field"]
    if f == "recorded":
        amount, rest = _split_amount(e["new_value"])
        method, reference = _method_and_rest(rest)
        reference, _sep, receipt = reference.rpartition(" ") if " " in reference else ("", "", reference)
        if not _RECEIPT_NO.match(receipt):
            reference, receipt = f"{reference} {receipt}".strip(), ""
        return _join(_sentence("%(actor)s recorded a payment of %(amount)s.", actor=who, amount=amount),
                     _sentence("Paid by %(method)s.", method=method) if method else "",
                     _sentence("Receipt %(receipt)s.", receipt=receipt) if receipt else "",
                     _sentence("Reference: %(reference)s.", reference=reference) if reference else "")
    if f == "credit_allocated":
        amount, _rest = _split_amount(e["new_value"])
        return _sentence("%(actor)s applied %(amount)s of credit to open charges.", actor=who, amount=amount)
    if f == "reversed":
        match = _REASON.match(e["new_value"] or "")
        return _sentence("%(actor)s reversed a payment of %(amount)s. Reason: %(reason)s.", actor=who,
                         amount=money(e["old_value"]), reason=match.group(2) if match else "")
    return _generic(e, who, ctx)


def _subscription(e: Mapping, who: str, ctx: Mapping) -> str:
    code, _sep, quantity = (e["new_value"] or "").partition(" x ")
    item = ctx.get("fee_items", {}).get(code) or {}
    name = (item.get("name_en") if get_locale() == "en" else item.get("name")) or item.get("name") or _("a fee item")
    return _sentence("%(actor)s added a recurring fee: %(item)s × %(quantity)s.", actor=who, item=name,
                     quantity=quantity or "1")


def _notice(e: Mapping, who: str, ctx: Mapping) -> str:
    return _sentence("%(actor)s issued %(title)s.", actor=who, title=notice_title(e["new_value"] or ""))


def _request(e: Mapping, who: str, ctx: Mapping) -> str:
    from tenants.file.service import REQUEST_TITLES

    title = REQUEST_TITLES.get(e["new_value"] or "")
    if e["field"] == "withdrawn" and title:
        return _sentence("%(actor)s withdrew the request “%(title)s”.", actor=who, title=_(title))
    return _generic(e, who, ctx)


ENTITY_NAMES = {
    "profile": N_("the company details"), "contact": N_("a contact"), "file": N_("the tenant file"),
    "document": N_("a document"), "deposit": N_("a deposit"), "charge": N_("a charge"), "payment": N_("a payment"),
    "notice": N_("a notice"), "arrears": N_("a notice"), "request": N_("a change request"),
    "fee_subscription": N_("a recurring fee"),
}


def _generic(e: Mapping, who: str, ctx: Mapping) -> str:
    return _sentence("%(actor)s changed %(what)s.", actor=who,
                     what=_(ENTITY_NAMES.get(e["entity"], N_("the tenant file"))))


CHANGE_RENDERERS: dict[str, Callable[[Mapping, str, Mapping], str]] = {
    "profile": _profile, "contact": _contact, "file": _file, "document": _document, "deposit": _deposit,
    "charge": _charge, "payment": _payment, "notice": _notice, "arrears": _notice, "request": _request,
    "fee_subscription": _subscription,
}


def change_sentence(entry: Mapping, *, contact_names: Mapping[int, str] | None = None,
                    fee_items: Mapping[str, Mapping] | None = None) -> str:
    """One change-log row as a sentence (with who approved it, when someone did).
    ``contact_names`` (id -> name) and ``fee_items`` (code -> row) name what the row is about."""
    who = actor(entry.get("actor_kind", ""), entry.get("actor_name", ""))
    render = CHANGE_RENDERERS.get(entry.get("entity", ""), _generic)
    try:
        text = render(entry, who, {"contact_names": contact_names or {}, "fee_items": fee_items or {}})
    except (KeyError, TypeError, ValueError):  # a malformed old row still reads as a sentence
        text = _generic(entry, who, {})
    return _join(text, _sentence("Approved by %(name)s.", name=entry["approved_by"]) if entry.get("approved_by") else "")


def notice_title(stored: str) -> str:
    """A notice title is stored in the notice's own language ('欠费通知书 CJ2026-000063 1,200.00'):
    shown in the reader's language, number and amount kept."""
    from tenants.money.notices import KINDS
    from portal.core.i18n import translations

    for msgid in KINDS.values():
        for written in {msgid, translations("zh").gettext(msgid)}:
            if stored.startswith(written):
                rest = stored[len(written):].strip()
                number, _sep, amount = rest.partition(" ")
                text = f"{_(msgid)} {number}".strip()
                return f"{text} · {money(amount)}" if amount else text
    return stored


def charge_description(charge: Mapping, fee_items: Mapping[str, Mapping]) -> str:
    """A charge is described with its fee item's Chinese name ('物业管理费 2026-11'):
    in English mode the item's English name replaces it."""
    text = charge.get("description") or ""
    if get_locale() != "en":
        return text
    item = fee_items.get(charge.get("fee_item") or "")
    candidates = [item] if item else sorted(fee_items.values(), key=lambda i: len(i["name"]), reverse=True)
    for candidate in candidates:
        if candidate.get("name_en") and candidate["name"] and text.startswith(candidate["name"]):
            return candidate["name_en"] + text[len(candidate["name"]):]
    return text


# --- audit log ---------------------------------------------------------------------------------

AUDIT_SENTENCES = {
    "staff.login": N_("Signed in to the staff console"),
    "portal.login": N_("Signed in to the tenant portal"),
    "staff.logout": N_("Signed out of the staff console"),
    "portal.logout": N_("Signed out of the tenant portal"),
    "security.refused": N_("Was refused a page"),
    "security.csrf_refused": N_("Sent a form that failed the security check"),
    "account.password_change": N_("Changed their password"),
    "staff.create": N_("Created a staff account"),
    "staff.update": N_("Changed a staff account"),
    "staff.enable": N_("Enabled a staff account"),
    "staff.disable": N_("Disabled a staff account"),
    "staff.password_reset": N_("Reset a staff member's password"),
    "tenant.create": N_("Created a tenant file"),
    "tenant.view": N_("Opened a tenant file"),
    "tenant.update": N_("Changed company details"),
    "tenant.link": N_("Linked two files of the same company"),
    "calendar.day.add": N_("Added a day to the office calendar"),
    "calendar.day.remove": N_("Removed a day from the office calendar"),
    "tenant.contact.save": N_("Saved a contact"),
    "tenant.contact.active": N_("Removed or restored a contact"),
    "tenant.activate": N_("Reactivated a tenant file"),
    "tenant.deactivate": N_("Deactivated a tenant file"),
    "tenant.request.submit": N_("Submitted a change request"),
    "tenant.request.approved": N_("Approved a change request"),
    "tenant.request.rejected": N_("Rejected a change request"),
    # Written by the approval engine (tenants.file.service.REQUEST_FLOW); the two above are older rows.
    "tenant.request.approve": N_("Approved a change request"),
    "tenant.request.reject": N_("Rejected a change request"),
    "tenant.request.withdrawn": N_("Withdrew a change request"),
    "tenancy.reconcile": N_("Reconciled tenant schemas"),
    "portal.invite": N_("Invited a portal user"),
    "portal.invite.accept": N_("Accepted a portal invitation"),
    "document.upload": N_("Uploaded a document"),
    "document.version": N_("Uploaded a new version of a document"),
    "document.update": N_("Changed a document's details"),
    "document.view": N_("Opened a document"),
    "document.download": N_("Downloaded a document"),
    "document.preview": N_("Previewed a document"),
    "document.request": N_("Asked the tenant for a document"),
    "document.portal_upload": N_("Uploaded a document for review"),
    "document.upload.accepted": N_("Accepted an uploaded document"),
    "document.upload.rejected": N_("Rejected an uploaded document"),
    "document.generated": N_("Filed a generated notice"),
    "document.catalog": N_("Opened a document catalogue"),
    "document.catalog.print": N_("Printed a document catalogue"),
    "export.create": N_("Prepared an export"),
    "export.download": N_("Downloaded an export"),
    "export.deleted": N_("Deleted an export"),
    "loan.request": N_("Asked to borrow files"),
    "loan.approve": N_("Approved a file loan"),
    "loan.reject": N_("Refused a file loan"),
    "loan.outside.approve": N_("Approved access to a file outside the requester's buildings"),
    "loan.outside.reject": N_("Refused access to a file outside the requester's buildings"),
    # Written before lending moved onto the approval engine: older audit rows still read as sentences.
    "loan.approve.approved": N_("Approved a file loan"),
    "loan.approve.lent": N_("Gave the final approval for a file loan"),
    "loan.refuse": N_("Refused a file loan"),
    "loan.out": N_("Handed out borrowed files"),
    "loan.return": N_("Took borrowed files back"),
    "loan.grant.withdrawn": N_("Withdrew access to borrowed files"),
    "loan.reminder.due_soon": N_("Reminded a borrower that files are due soon"),
    "loan.reminder.overdue": N_("Reminded a borrower that files are overdue"),
    "audit.export": N_("Downloaded the audit log"),
    "money.view": N_("Opened a tenant's charges and payments"),
    "money.payment.record": N_("Recorded a payment"),
    "money.payment.reverse": N_("Reversed a payment"),
    "money.credit.allocate": N_("Applied credit to open charges"),
    "money.charge.manual": N_("Added a charge"),
    "money.charge.adjust": N_("Adjusted a charge"),
    "money.deposit.receive": N_("Received a deposit"),
    "money.deposit.deduction.request": N_("Asked for a deposit deduction"),
    "money.deposit.refund.request": N_("Asked for a deposit refund"),
    "money.deposit.deduction.approve": N_("Approved a deposit deduction"),
    "money.deposit.refund.approve": N_("Approved a deposit refund"),
    "money.deposit.deduction.reject": N_("Refused a deposit deduction"),
    "money.deposit.refund.reject": N_("Refused a deposit refund"),
    "money.notice.issue": N_("Issued a notice"),
    "money.notice.download": N_("Downloaded a notice"),
    "money.notice_batch.create": N_("Started a batch of notices"),
    "money.notice_batch.cancel": N_("Cancelled a batch of notices"),
    "money.notice_batch.resume": N_("Resumed a batch of notices"),
    "money.notice.resend": N_("Sent a notice's e-mail again"),
    "money.notice_batch.resend": N_("Sent the batch's undelivered e-mails again"),
    "money.fee_item.save": N_("Saved a fee item"),
    "money.billing.start": N_("Started a billing run"),
    "demo.load": N_("Loaded the demo data"),
    "repair.report": N_("Reported a repair"),
    "repair.accept": N_("Accepted a repair order"),
    "repair.decline": N_("Declined a repair order"),
    "repair.complete": N_("Completed a repair"),
    "repair.confirm": N_("Confirmed a completed repair"),
    "repair.auto_close": N_("Closed a repair nobody confirmed in time"),
    "repair.reopen": N_("Reopened a repair"),
    "repair.cancel": N_("Cancelled a repair order"),
    "repair.unassigned": N_("Found no technician for a repair: it waits for a dispatcher"),
    "repair.timeout": N_("Passed a repair order on: it was not accepted in time"),
    "repair.assign": N_("Assigned a repair order by hand"),
    "repair.page": N_("Paged an on-duty technician about an urgent repair"),
    "repair.escalate.dept_head": N_("Warned the department head: a repair is about to miss its deadline"),
    "repair.escalate.supervisor": N_("Told the supervisor: a repair missed its deadline"),
    "repair.roster": N_("Changed the technicians' roster"),
    "repair.photo": N_("Added a photo to a repair"),
    "repair.bill": N_("Approved a repair's cost as a charge to the tenant"),
}
# A kind without its own sentence is described by its area (the part before the first dot).
AUDIT_AREAS = {
    "staff": N_("Did something with staff accounts"), "portal": N_("Did something in the tenant portal"),
    "security": N_("Triggered a security check"), "account": N_("Changed their account"),
    "tenant": N_("Did something with a tenant file"), "tenancy": N_("Maintained the tenant files"),
    "document": N_("Did something with a document"), "export": N_("Did something with an export"),
    "loan": N_("Did something with a file loan"), "audit": N_("Used the audit log"),
    "money": N_("Did something with charges and payments"),
    "repair": N_("Did something with a repair"),
}
# Choices of the audit page's filter: an action or, ending in a dot, a whole area.
AUDIT_FILTERS = {
    "staff.login": N_("Staff sign-ins"), "portal.login": N_("Portal sign-ins"), "security.": N_("Security checks"),
    "account.": N_("Own account changes"), "staff.": N_("Staff accounts and sign-ins"),
    "tenant.": N_("Tenant files"), "tenant.view": N_("Tenant files opened"), "portal.invite": N_("Portal invitations"),
    "document.": N_("Documents"), "loan.": N_("File loans"), "export.": N_("Exports"), "money.": N_("Charges and payments"),
    "audit.": N_("Audit log use"),
    "repair.": N_("Repairs"),
}


def audit_sentence(row: Mapping) -> str:
    action = row.get("action", "")
    msgid = AUDIT_SENTENCES.get(action) or AUDIT_AREAS.get(action.split(".", 1)[0], N_("Did something"))
    text = _(msgid)
    if str(row.get("target", "")).startswith("/"):  # refusals name the page asked for
        text += _(": %(page)s") % {"page": row["target"]}
    return text


# Detail keys people can read, with how to show their values; other keys stay in the CSV's raw column.
DETAIL_LABELS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "fen": (N_("Amount"), money_fen),
    "amount_fen": (N_("Amount"), money_fen),
    "reason": (N_("Reason"), str),
    "note": (N_("Note"), str),
    "receipt_no": (N_("Receipt number"), str),
    "number": (N_("Number"), str),
    "title": (N_("Title"), str),
    "fields": (N_("Fields"), lambda v: ", ".join(field_label(f) for f in (v or []))),
    "kind": (N_("Type"), lambda v: _kind_label(v)),
    "active": (N_("Active"), lambda v: value("active", v)),
    "period": (N_("Period"), str),
    "via_grant": (N_("Through a file loan"), lambda v: value("active", v)),
}


def _kind_label(kind: Any) -> str:
    from tenants.file.service import REQUEST_TITLES
    from tenants.money.notices import KINDS

    text = str(kind)
    label = REQUEST_TITLES.get(text) or KINDS.get(text) or DEPOSIT_KINDS.get(text)
    return _(label) if label else ""


def audit_details(row: Mapping) -> str:
    """The readable part of an audit row's detail: 'Amount: ¥3,000.00 · Reason: …'."""
    detail = row.get("detail") or {}
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return ""
    parts = []
    for key, raw in detail.items() if isinstance(detail, dict) else ():
        if key not in DETAIL_LABELS or raw in (None, "", [], {}):
            continue
        label, show = DETAIL_LABELS[key]
        shown = show(raw)
        if shown:
            parts.append(_("%(label)s: %(value)s") % {"label": _(label), "value": shown})
    return " · ".join(parts)


# --- review statuses ---------------------------------------------------------------------------

STATUS_LABELS = {
    "pending": N_("Waiting for review"), "approved": N_("Approved"), "rejected": N_("Rejected"),
    "accepted": N_("Accepted"), "withdrawn": N_("Withdrawn"),
}


def status(code: str) -> str:
    return _(STATUS_LABELS.get(code, N_("Unknown state")))


def request_title(kind: str) -> str:
    from tenants.file.service import REQUEST_TITLES

    return _(REQUEST_TITLES.get(kind, N_("a change request")))
