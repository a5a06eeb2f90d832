"""Change-log rows as sentences: one renderer per entity (``CHANGE_RENDERERS``).

A writer stores ``changelog.record(actor, entity, field, old, new)``; a new
entity gets its renderer here (and its name in ``ENTITY_NAMES``); a new field
of an existing entity is a branch of that entity's renderer. Anything unknown
reads as the generic "X changed the tenant file.", never as its code.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

from portal.core.i18n import N_, get_locale, gettext as _
from portal.events.values import actor, charge_description, field_label, money, notice_title, value

_AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?)(?:\s+(.*))?$", re.S)
_CHARGE = re.compile(r"^(.*?)\s*(-?\d+\.\d{2})\s*(?:\((.*)\))?$", re.S)
_BILLED = re.compile(r"^(\d{4}-\d{2}): (\d+) charges, (-?\d+\.\d{2})$")
_REASON = re.compile(r"^(.*?)\s*\((.*)\)$", re.S)


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
    if f == "credited":  # an office credit (a complaint's discount or compensation): "200.00 TS2026-000012 JM2026-…"
        amount, rest = _split_amount(e["new_value"])
        number, _sep, receipt = rest.partition(" ")
        return _join(_sentence("%(actor)s granted a credit of %(amount)s for complaint %(number)s.", actor=who,
                               amount=amount, number=number),
                     _sentence("Receipt %(receipt)s.", receipt=receipt) if receipt else "")
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
