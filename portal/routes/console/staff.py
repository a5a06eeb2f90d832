"""Staff accounts (administrators only): list, create, edit roles and buildings,
reset a password, disable and enable.

Administrators manage accounts and do not read tenant files (see roles.py).
Every change goes through ``portal.accounts.service``, which audits it.
"""

from __future__ import annotations

import datetime as dt

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.accounts import service as accounts
from portal.core.roles import ALL_BUILDINGS, ROLE_LABELS, Perm, Role
from portal.core.errors import Conflict, FormErrors
from portal.core.i18n import gettext
from portal.routes.forms import form_dict, int_or_none
from portal.security.passwords import MIN_LENGTH, password_problems
from portal.web.render import form_errors, render, requires
from tenants.registry import service as registry

ADMIN = [requires(Perm.STAFF_MANAGE)]
MULTI = ("roles", "building_ids")
TEXT_FIELDS = ("username", "display_name", "email", "mobile", "department")
# Accounts unused this long are flagged on the list ("unused accounts removed").
STALE_DAYS = 90


async def _buildings() -> list[dict]:
    return await registry.buildings()


def _choices(buildings: list[dict]) -> dict:
    return {
        "roles": [(role.value, ROLE_LABELS[role], role in ALL_BUILDINGS) for role in Role],
        "buildings": buildings,
        "min_length": MIN_LENGTH,
    }


def _values(data: dict) -> dict:
    """Form values for re-display: checkbox lists normalised, passwords never echoed."""
    values = {k: str(data.get(k) or "") for k in TEXT_FIELDS}
    roles = data.get("roles") or []
    values["roles"] = [roles] if isinstance(roles, str) else [str(r) for r in roles]
    values["building_ids"] = [b for b in (int_or_none(x) for x in data.get("building_ids") or []) if b]
    return values


async def _form_page(request: Request, *, staff: dict | None, values: dict, errors: dict,
                     status_code: int = 200, **extra) -> Template:
    context = {"temporary_password": None, **extra}
    response = render("console/staff_form.html", status_code=status_code, principal=request.state.principal,
                      staff=staff, values=values, errors=errors, **_choices(await _buildings()), **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@get("/console/staff", guards=ADMIN)
async def staff_list(request: Request) -> Template:
    rows = await accounts.list_staff()
    buildings = await _buildings()
    stale_before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=STALE_DAYS)
    for row in rows:
        last_use = row["last_login_at"] or row["created_at"]
        row["stale"] = row["active"] and last_use < stale_before
    return render("console/staff_list.html", principal=request.state.principal, rows=rows,
                  building_names={b["id"]: b["name"] for b in buildings}, role_labels=ROLE_LABELS,
                  stale_days=STALE_DAYS)


@get("/console/staff/new", guards=ADMIN)
async def staff_new_form(request: Request) -> Template:
    return await _form_page(request, staff=None, values={"roles": [], "building_ids": []}, errors={})


@post("/console/staff/new", guards=ADMIN)
async def staff_new_submit(request: Request) -> Response:
    data = await form_dict(request, multi=MULTI)
    password = data.get("password") or ""
    try:
        staff_id = await accounts.create_staff(data, password, request.state.principal)
    except FormErrors as exc:
        errors = form_errors(exc)
        # Report a weak password together with the other fields, not one round later.
        if "password" not in errors:
            problems = password_problems(password, str(data.get("username") or "").strip().lower(),
                                         str(data.get("display_name") or "").strip())
            if problems:
                errors["password"] = gettext(problems[0])
        return await _form_page(request, staff=None, values=_values(data), errors=errors, status_code=422)
    return Redirect(f"/console/staff?added={staff_id}")


@get("/console/staff/{staff_id:int}/edit", guards=ADMIN)
async def staff_edit_form(request: Request, staff_id: int) -> Template:
    staff = await accounts.get_staff(staff_id)
    return await _form_page(request, staff=staff, values=_values(staff), errors={})


@post("/console/staff/{staff_id:int}/edit", guards=ADMIN)
async def staff_edit_submit(request: Request, staff_id: int) -> Response:
    staff = await accounts.get_staff(staff_id)
    data = await form_dict(request, multi=MULTI)
    try:
        await accounts.update_staff(staff_id, data, request.state.principal)
    except FormErrors as exc:
        return await _form_page(request, staff=staff, values=_values({**data, "username": staff["username"]}),
                                errors=form_errors(exc), status_code=422)
    return Redirect("/console/staff?saved=1")


def _confirmed(data: dict) -> bool:
    return data.get("confirm") in ("1", "on", "yes", "true")


@post("/console/staff/{staff_id:int}/reset-password", guards=ADMIN)
async def staff_reset_password(request: Request, staff_id: int) -> Response:
    principal = request.state.principal
    staff = await accounts.get_staff(staff_id)
    data = await form_dict(request)
    if staff_id == principal.user_id:
        raise Conflict("Use Change password for your own account.")
    if not _confirmed(data):
        return await _form_page(request, staff=staff, values=_values(staff), status_code=422, errors={
            "confirm_reset": gettext("Tick the box to confirm the password reset."),
        })
    temporary = await accounts.reset_staff_password(staff_id, principal)
    # Shown once, on this answer only (not stored, not in a URL, not cached).
    return await _form_page(request, staff=await accounts.get_staff(staff_id), values=_values(staff), errors={},
                            temporary_password=temporary)


@post("/console/staff/{staff_id:int}/active", guards=ADMIN)
async def staff_set_active(request: Request, staff_id: int) -> Response:
    principal = request.state.principal
    staff = await accounts.get_staff(staff_id)
    data = await form_dict(request)
    active = data.get("active") == "1"
    error = ""
    if not _confirmed(data):
        error = (gettext("Tick the box to confirm enabling the account.") if active
                 else gettext("Tick the box to confirm disabling the account."))
    else:
        try:
            await accounts.set_staff_active(staff_id, active, principal)
        except Conflict as exc:
            error = gettext(exc.message)
    if error:
        return await _form_page(request, staff=staff, values=_values(staff), errors={"confirm_active": error},
                                status_code=422)
    return Redirect(f"/console/staff?{'enabled' if active else 'disabled'}={staff_id}")


ROUTES = [
    staff_list, staff_new_form, staff_new_submit, staff_edit_form, staff_edit_submit, staff_reset_password,
    staff_set_active,
]
