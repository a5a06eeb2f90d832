"""Staff accounts, portal users, invitations and sign-in checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any, Mapping

from portal.core import audit
from portal.core.roles import Perm, Principal, Role
from portal.core.db import DB, db_now
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from portal.core.params import INT4_MAX, whole_number
from portal.accounts import queries
from portal.accounts.tables import PortalInvite, PortalUser, StaffUser
from tenants.registry.tables import Building
from portal.security.passwords import hash_password, needs_rehash, password_problems, verify_password
from tenants import validators

USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def load_principal(kind: str, user_id: int, epoch: int, session_id: str = "") -> Principal | None:
    """The signed-in person, or None if the account is gone, disabled or the
    session predates a 'sign out everywhere' / password change."""
    if kind == "staff":
        row = await queries.staff_principal_row(user_id)
        if not row or not row["active"] or row["session_epoch"] != epoch:
            return None
        return Principal(
            kind="staff", user_id=row["id"], name=row["display_name"],
            roles=frozenset(Role(r) for r in row["roles"] if r in Role._value2member_map_),
            building_ids=frozenset(row["building_ids"]), session_id=session_id,
            must_change_password=row["must_change_password"],
        )
    if kind == "portal":
        row = await queries.portal_principal_row(user_id)
        if not row or not row["active"] or not row["tenant_active"] or row["session_epoch"] != epoch:
            return None
        tenant_row = {"id": row["tenant_id"], "active": row["tenant_active"], "schema_name": row["tenant_schema_name"],
                      "name": row["tenant_name"], "archive_no": row["tenant_archive_no"],
                      "building_ids": row["tenant_building_ids"], "status": row["tenant_status"],
                      "read_only": row["tenant_read_only"]}
        return Principal(kind="portal", user_id=row["id"], name=row["display_name"], tenant_id=row["tenant_id"],
                         session_id=session_id, tenant_row=tenant_row)
    return None


async def authenticate(kind: str, login: str, password: str) -> tuple[int, int] | None:
    """(user id, session epoch) when the credentials are right and the account is usable."""
    table = StaffUser if kind == "staff" else PortalUser
    column = StaffUser.username if kind == "staff" else PortalUser.email
    row = await table.select(table.id, table.password_hash, table.active, table.session_epoch).where(
        column == login.strip().lower()).first().run()
    ok = await verify_password(row["password_hash"] if row else None, password)
    if not ok or not row["active"]:
        return None
    if needs_rehash(row["password_hash"]):
        new_hash = await hash_password(password)
        await table.update({table.password_hash: new_hash}).where(table.id == row["id"]).run()
    await table.update({table.last_login_at: db_now()}).where(table.id == row["id"]).run()
    return row["id"], row["session_epoch"]


async def sign_out_everywhere(principal: Principal) -> int:
    """End every session of this person; returns the new epoch (for the session that continues)."""
    table = StaffUser if principal.is_staff else PortalUser
    rows = await table.update({table.session_epoch: table.session_epoch + 1}).where(
        table.id == principal.user_id).returning(table.session_epoch).run()
    return rows[0]["session_epoch"] if rows else 0


# --- staff accounts -------------------------------------------------------------------------------

def _clean_staff(raw: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating:
        username = str(raw.get("username") or "").strip().lower()
        if not (3 <= len(username) <= 40) or not set(username) <= USERNAME_CHARS:
            errors["username"] = "Use 3-40 lower-case letters, digits, dots, dashes or underscores."
        out["username"] = username
    out["display_name"] = str(raw.get("display_name") or "").strip()
    if not out["display_name"] or len(out["display_name"]) > 60:
        errors["display_name"] = "The name is required."
    out["department"] = str(raw.get("department") or "").strip()[:60]
    for name, validate in (("email", validators.validate_email), ("mobile", validators.validate_mobile)):
        value = str(raw.get(name) or "").strip()  # both optional: empty stays empty
        out[name] = ""
        if value:
            try:
                out[name] = validate(value)
            except validators.ValidationError as exc:
                errors[name] = exc.message
    roles = raw.get("roles") or []
    roles = [roles] if isinstance(roles, str) else list(roles)
    if not roles or any(r not in Role._value2member_map_ for r in roles):
        errors["roles"] = "Choose at least one role."
    out["roles"] = sorted(set(roles))
    buildings = raw.get("building_ids") or []
    buildings = [buildings] if isinstance(buildings, (str, int)) else list(buildings)
    ids = {whole_number(b) for b in buildings}
    if None in ids or any(not 1 <= i <= INT4_MAX for i in ids):  # also never past PostgreSQL's integer
        errors["building_ids"] = "Choose buildings from the list."
    out["building_ids"] = sorted(i for i in ids if i is not None)
    if errors:
        raise FormErrors(errors)
    return out


async def _check_buildings(ids: list[int]) -> None:
    if ids:
        found = await Building.count().where(Building.id.is_in(ids)).run()
        if found != len(ids):
            raise FormErrors({"building_ids": "Choose buildings from the list."})


async def create_staff(raw: Mapping[str, Any], password: str, actor: Principal | None) -> int:
    """Create a staff account. ``actor`` None is the CLI/demo loader."""
    if actor is not None and not actor.can(Perm.STAFF_MANAGE):
        raise Forbidden()
    data = _clean_staff(raw, creating=True)
    problems = password_problems(password, data["username"], data["display_name"])
    if problems:
        raise FormErrors({"password": problems[0]})
    await _check_buildings(data["building_ids"])
    password_hash = await hash_password(password)  # before the transaction: it takes ~100 ms
    async with DB.transaction():
        if await StaffUser.exists().where(StaffUser.username == data["username"]).run():
            raise FormErrors({"username": "This user name is taken."})
        staff_id = (await StaffUser.insert(StaffUser(
            username=data["username"], display_name=data["display_name"], email=data["email"],
            mobile=data["mobile"], department=data["department"], password_hash=password_hash, roles=data["roles"],
            building_ids=data["building_ids"], must_change_password=actor is not None,
        )).returning(StaffUser.id).run())[0]["id"]
        await audit.record("staff.create", principal=actor, actor_name="system", target=f"staff:{staff_id}",
                           detail={"username": data["username"], "roles": data["roles"]})
    return staff_id


async def update_staff(staff_id: int, raw: Mapping[str, Any], actor: Principal) -> None:
    if not actor.can(Perm.STAFF_MANAGE):
        raise Forbidden()
    data = _clean_staff(raw, creating=False)
    await _check_buildings(data["building_ids"])
    if staff_id == actor.user_id and Role.ADMIN not in data["roles"]:
        raise FormErrors({"roles": "You cannot remove your own administrator role."})
    S = StaffUser
    async with DB.transaction():
        old = await S.select(S.roles, S.building_ids).where(S.id == staff_id).first().run()
        if old is None:
            raise NotFound("No such staff account.")
        await S.update({S.display_name: data["display_name"], S.email: data["email"], S.mobile: data["mobile"],
                        S.department: data["department"],
                        S.roles: data["roles"], S.building_ids: data["building_ids"]}).where(S.id == staff_id).run()
        await audit.record("staff.update", principal=actor, target=f"staff:{staff_id}", detail={
            "roles": [list(old["roles"]), data["roles"]], "buildings": [list(old["building_ids"]), data["building_ids"]],
        })


async def reset_staff_password(staff_id: int, actor: Principal) -> str:
    """Set a one-off password the person must change at next sign-in; ends their sessions."""
    if not actor.can(Perm.STAFF_MANAGE):
        raise Forbidden()
    temporary = secrets.token_urlsafe(12)
    S = StaffUser
    updated = await S.update({
        S.password_hash: await hash_password(temporary), S.must_change_password: True,
        S.session_epoch: S.session_epoch + 1, S.password_changed_at: db_now(),
    }).where(S.id == staff_id).returning(S.id).run()
    if not updated:
        raise NotFound("No such staff account.")
    await audit.record("staff.password_reset", principal=actor, target=f"staff:{staff_id}")
    return temporary


async def set_staff_active(staff_id: int, active: bool, actor: Principal) -> None:
    if not actor.can(Perm.STAFF_MANAGE):
        raise Forbidden()
    if staff_id == actor.user_id:
        raise Conflict("You cannot disable your own account.")
    S = StaffUser
    updated = await S.update({S.active: active, S.session_epoch: S.session_epoch + 1}).where(
        S.id == staff_id).returning(S.id).run()
    if not updated:
        raise NotFound("No such staff account.")
    await audit.record("staff.enable" if active else "staff.disable", principal=actor, target=f"staff:{staff_id}")


async def change_password(principal: Principal, current: str, new: str) -> None:
    table = StaffUser if principal.is_staff else PortalUser
    login = StaffUser.username if principal.is_staff else PortalUser.email
    row = await table.select(login.as_alias("login"), table.display_name, table.password_hash).where(
        table.id == principal.user_id).first().run()
    if not row or not await verify_password(row["password_hash"], current):
        raise FormErrors({"current_password": "The current password is wrong."})
    # A portal login is an e-mail address; its name part is what the password must not contain
    # (the same rule as when the invitation was accepted).
    username = row["login"] if principal.is_staff else row["login"].split("@")[0]
    problems = password_problems(new, username, row["display_name"])
    if problems:
        raise FormErrors({"new_password": problems[0]})
    values: dict = {table.password_hash: await hash_password(new)}
    if principal.is_staff:
        values.update({StaffUser.must_change_password: False, StaffUser.password_changed_at: db_now()})
    await table.update(values).where(table.id == principal.user_id).run()
    await audit.record("account.password_change", principal=principal)


async def list_staff() -> list[dict]:
    S = StaffUser
    return await S.select(S.id, S.username, S.display_name, S.email, S.mobile, S.department, S.roles, S.building_ids,
                          S.active, S.must_change_password, S.last_login_at, S.created_at).order_by(
        S.active, ascending=False).order_by(S.username).run()


async def get_staff(staff_id: int) -> dict:
    row = await StaffUser.select().where(StaffUser.id == staff_id).first().run()
    if row is None:
        raise NotFound("No such staff account.")
    return row


# --- portal users and invitations -----------------------------------------------------------------

async def invite_portal_user(
    tenant_id: int, raw: Mapping[str, Any], actor: Principal, valid_hours: int
) -> tuple[int, str]:
    """A one-time invitation; returns (invite id, token for the link). The
    token is shown once; only its hash is stored."""
    if not actor.can(Perm.PORTAL_INVITE):
        raise Forbidden()
    errors = {}
    name = str(raw.get("display_name") or "").strip()
    if not name or len(name) > 60:
        errors["display_name"] = "The name is required."
    email = ""
    try:
        email = validators.validate_email(str(raw.get("email") or "").strip()).lower()
    except validators.ValidationError as exc:
        errors["email"] = exc.message
    if not errors and await PortalUser.exists().where(PortalUser.email == email).run():
        errors["email"] = "This e-mail address already has a portal account."
    if errors:
        raise FormErrors(errors)
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=valid_hours)
    async with DB.transaction():
        invite_id = (await PortalInvite.insert(PortalInvite(
            tenant_id=tenant_id, email=email, display_name=name, token_hash=_token_hash(token), expires_at=expires,
            created_by=actor.user_id,
        )).returning(PortalInvite.id).run())[0]["id"]
        await audit.record("portal.invite", principal=actor, tenant_id=tenant_id, target=f"invite:{invite_id}",
                           detail={"email": email})
    return invite_id, token


async def invitation(invite_id: int) -> dict:
    """An invitation's public fields (the token hash stays inside)."""
    row = await PortalInvite.select(PortalInvite.id, PortalInvite.email, PortalInvite.display_name,
                                    PortalInvite.expires_at).where(PortalInvite.id == invite_id).first().run()
    if row is None:
        raise NotFound("No such invitation.")
    return row


async def find_invite(token: str) -> dict:
    """The invitation for a link, if it can still be used."""
    I = PortalInvite
    row = await I.select(*I.all_columns(), I.tenant_id.name.as_alias("tenant_name"),
                         I.tenant_id.active.as_alias("tenant_active")).where(
        I.token_hash == _token_hash(token or "")).first().run()
    if row is None or row["revoked_at"] or not row["tenant_active"]:
        raise NotFound("This invitation link is not valid.")
    if row["accepted_at"]:
        raise Conflict("This invitation has already been used. Sign in instead.")
    if row["expires_at"] < dt.datetime.now(dt.timezone.utc):
        raise Conflict("This invitation has expired. Ask the management office for a new one.")
    return row


async def accept_invite(token: str, password: str, password_again: str) -> int:
    invite = await find_invite(token)
    if password != password_again:
        raise FormErrors({"password_again": "The two passwords differ."})
    problems = password_problems(password, invite["email"].split("@")[0], invite["display_name"])
    if problems:
        raise FormErrors({"password": problems[0]})
    password_hash = await hash_password(password)
    I = PortalInvite
    async with DB.transaction():
        # Lock the invitation so two clicks cannot create two accounts.
        state = await I.select(I.accepted_at).where(I.id == invite["id"]).lock_rows("UPDATE").first().run()
        if state is not None and state["accepted_at"] is not None:
            raise Conflict("This invitation has already been used. Sign in instead.")
        if await PortalUser.exists().where(PortalUser.email == invite["email"]).run():
            raise Conflict("This e-mail address already has a portal account.")
        user_id = await _insert_portal_user(invite["tenant_id"], invite["email"], invite["display_name"],
                                            password_hash)
        await I.update({I.accepted_at: db_now()}).where(I.id == invite["id"]).run()
        await audit.record("portal.invite.accept", actor_name=invite["email"], tenant_id=invite["tenant_id"],
                           target=f"portal_user:{user_id}")
    return user_id


async def expire_invitations() -> int:
    """Mark expired, unused invitations revoked (the nightly task); returns how many."""
    I = PortalInvite
    rows = await I.update({I.revoked_at: db_now()}).where(
        I.accepted_at.is_null() & I.revoked_at.is_null() & (I.expires_at < db_now())).returning(I.id).run()
    return len(rows)


async def list_portal_users(tenant_id: int) -> dict:
    U, I = PortalUser, PortalInvite
    users = await U.select(U.id, U.email, U.display_name, U.active, U.last_login_at, U.created_at).where(
        U.tenant_id == tenant_id).order_by(U.id).run()
    invites = await I.select(I.id, I.email, I.display_name, I.expires_at, I.accepted_at, I.revoked_at,
                             I.created_at).where((I.tenant_id == tenant_id) & I.accepted_at.is_null()).order_by(
        I.id, ascending=False).limit(20).run()
    return {"users": users, "invites": invites}


async def create_portal_user(tenant_id: int, email: str, name: str, password: str) -> int:
    """Direct creation, for the demo loader and tests (staff use invitations)."""
    return await _insert_portal_user(tenant_id, email.lower(), name, await hash_password(password))


async def _insert_portal_user(tenant_id: int, email: str, name: str, password_hash: str) -> int:
    rows = await PortalUser.insert(PortalUser(tenant_id=tenant_id, email=email, display_name=name,
                                              password_hash=password_hash)).returning(PortalUser.id).run()
    return rows[0]["id"]
