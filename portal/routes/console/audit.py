"""The audit log browser (auditors only): filters, pages, CSV export, and the
week's failed / locked-out sign-ins for the weekly login-log review."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import AsyncIterator
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.response import Response, Stream, Template

from portal import events
from portal.core import audit, i18n
from portal.core.roles import Perm
from portal.core.i18n import N_, gettext
from portal.routes.forms import page_number
from portal.web.render import render, requires
from tenants.registry import service as registry

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_PAGE = 50
REVIEW_DAYS = 7
OUTCOMES = {"ok": N_("OK"), "failed": N_("Failed"), "refused": N_("Refused"), "locked": N_("Locked out")}
AUDITOR = [requires(Perm.AUDIT_READ)]
# What people read first; the stored codes follow for tools that filter on them.
CSV_COLUMNS = (
    N_("Time"), N_("Actor type"), N_("Actor"), N_("What happened"), N_("Outcome"), N_("Archive number"),
    N_("IP address"), N_("Detail"), N_("Action code"), N_("Target code"), N_("Detail data"),
)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def _parse_day(value: str) -> dt.date:
    return dt.date.fromisoformat(value.strip())


async def _filters(action: str, actor: str, archive_no: str, outcome: str, date_from: str,
                   date_to: str) -> tuple[dict, dict, dict]:
    """(arguments for audit.search, values for the form, field errors)."""
    values = {"action": action.strip()[:60], "actor": actor.strip()[:60], "archive_no": archive_no.strip()[:20],
              "outcome": outcome if outcome in OUTCOMES else "", "date_from": date_from.strip()[:10],
              "date_to": date_to.strip()[:10]}
    errors: dict[str, str] = {}
    search = {"action": values["action"], "actor": values["actor"], "outcome": values["outcome"]}
    if values["archive_no"]:
        tenant_id = await registry.tenant_id_by_archive_no(values["archive_no"].upper())
        if tenant_id is None:
            errors["archive_no"] = gettext("No tenant has this archive number.")
        search["tenant_id"] = tenant_id
    days = {}
    for key in ("date_from", "date_to"):
        if values[key]:
            try:
                days[key] = _parse_day(values[key])
            except ValueError:
                errors[key] = gettext("Enter a date as YYYY-MM-DD.")
    if "date_from" in days:
        search["since"] = _day_start(days["date_from"])
    if "date_to" in days:  # the whole "to" day is included
        search["until"] = _day_start(days["date_to"] + dt.timedelta(days=1))
    if len(days) == 2 and days["date_from"] > days["date_to"]:
        errors["date_to"] = gettext("The end date is before the start date.")
    return search, values, errors


async def _tenant_numbers(rows: list[dict]) -> dict[int, str]:
    ids = sorted({r["tenant_id"] for r in rows if r["tenant_id"]})
    if not ids:
        return {}
    return await registry.archive_numbers(ids)


async def _sign_in_review() -> dict:
    """Failed / locked sign-ins of the last 7 days (today and the 6 before, Shanghai time)."""
    since_day = dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=REVIEW_DAYS - 1)
    return {"since": since_day.isoformat(), "counts": await audit.sign_in_problems(_day_start(since_day))}


@get("/console/audit", guards=AUDITOR)
async def audit_page(
    request: Request,
    action: str = "",
    actor: str = "",
    archive_no: str = "",
    outcome: str = "",
    date_from: str = "",
    date_to: str = "",
    page: str = "1",
) -> Template:
    search, values, errors = await _filters(action, actor, archive_no, outcome, date_from, date_to)
    current = page_number(page)
    rows, total = ([], 0) if errors else await audit.search(page=current, per_page=PER_PAGE, **search)
    return render(
        "console/audit.html", status_code=422 if errors else 200, principal=request.state.principal, rows=rows,
        total=total, page=current, pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), values=values, errors=errors,
        filtered=any(values.values()), outcomes=OUTCOMES, action_choices=events.AUDIT_FILTERS,
        archive_numbers=await _tenant_numbers(rows), review=await _sign_in_review(),
    )


def _cell(value) -> str:
    """A CSV cell Excel will not run as a formula (audit rows hold text typed by anyone, e.g. login names)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@get("/console/audit.csv", guards=AUDITOR)
async def audit_csv(
    request: Request,
    action: str = "",
    actor: str = "",
    archive_no: str = "",
    outcome: str = "",
    date_from: str = "",
    date_to: str = "",
) -> Response:
    search, values, errors = await _filters(action, actor, archive_no, outcome, date_from, date_to)
    if errors:
        return render("console/audit.html", status_code=422, principal=request.state.principal, rows=[], total=0,
                      page=1, pages=1, values=values, errors=errors, filtered=True, outcomes=OUTCOMES,
                      action_choices=events.AUDIT_FILTERS, archive_numbers={}, review=await _sign_in_review())
    await audit.record("audit.export", principal=request.state.principal,
                       ip=request.client.host if request.client else "", detail={k: v for k, v in values.items() if v})
    header = [gettext(c) for c in CSV_COLUMNS]
    outcome_labels = {k: gettext(v) for k, v in OUTCOMES.items()}
    actor_kinds = {k: gettext(v) for k, v in events.ACTOR_KINDS.items()}
    locale = i18n.get_locale()

    async def lines() -> AsyncIterator[bytes]:
        i18n.set_locale(locale)  # the rows are rendered while streaming, after the handler returned
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        # The BOM tells Excel the file is UTF-8 (otherwise Chinese shows as mojibake).
        buffer.write("\ufeff")
        writer.writerow(header)
        numbers: dict[int, str] = {}
        async for row in audit.iter_rows(**search):
            tenant_id = row["tenant_id"]
            if tenant_id and tenant_id not in numbers:
                numbers[tenant_id] = (await registry.archive_numbers([tenant_id])).get(tenant_id, str(tenant_id))
            writer.writerow([_cell(v) for v in (
                row["at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), actor_kinds.get(row["actor_kind"], ""),
                row["actor_name"], events.audit_sentence(row), outcome_labels.get(row["outcome"], row["outcome"]),
                numbers.get(tenant_id, "") if tenant_id else "", row["ip"], events.audit_details(row),
                row["action"], row["target"], "" if row["detail"] in (None, "{}") else row["detail"],
            )])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    stamp = dt.datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    return Stream(lines(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"', "Cache-Control": "no-store",
    })


ROUTES = [audit_page, audit_csv]
