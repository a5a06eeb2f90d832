"""Sign-in rules: lockout, CSRF refusal, session id rotation, sign out
everywhere, timeouts; and the password rules."""

from __future__ import annotations

import time

from portal.core.db import DB
from portal.security.passwords import password_problems
from portal.security.sessions import COOKIE, SessionStore
from tests import factories


async def test_lockout_after_repeated_failures(database, client_factory):
    person = await factories.staff(["clerk"])
    client = await client_factory()
    for _ in range(5):
        response = await factories.sign_in(client, person["username"], "wrong-password-000")
        assert response.status_code == 400
        assert "用户名或密码错误" in response.text
    # Even the right password is refused while locked out.
    response = await factories.sign_in(client, person["username"])
    assert response.status_code == 400 and "失败次数过多" in response.text
    assert COOKIE not in client.cookies
    outcomes = [r["outcome"] for r in await DB.pool.fetch(
        "SELECT outcome FROM core.audit_log WHERE action = 'staff.login' AND actor_name = $1 ORDER BY id",
        person["username"])]
    assert outcomes == ["failed"] * 5 + ["locked"]


async def test_unknown_user_and_wrong_password_look_the_same(database, client_factory):
    client = await client_factory()
    unknown = await factories.sign_in(client, "nobody-here", "whatever-password")
    person = await factories.staff(["clerk"])
    wrong = await factories.sign_in(client, person["username"], "whatever-password")
    assert unknown.status_code == wrong.status_code == 400
    assert "用户名或密码错误" in unknown.text and "用户名或密码错误" in wrong.text


async def test_post_without_csrf_token_is_refused(database, client_factory):
    person = await factories.staff(["clerk"])
    client = await client_factory()
    response = await client.post("/console/login", data={"login": person["username"], "password": factories.PASSWORD})
    assert response.status_code == 403
    assert "表单已过期" in response.text
    assert COOKIE not in client.cookies
    # A signed-in session's token is bound to the session: the anonymous cookie token no longer works.
    await factories.sign_in(client, person["username"])
    stale = client.cookies.get("csrftoken")
    response = await client.post("/console/logout", data={"_csrf_token": stale})
    assert response.status_code == 403
    api = await client.post("/console/logout", headers={"x-csrftoken": "forged"})
    assert api.status_code == 403


async def test_session_id_changes_at_sign_in_and_old_one_dies(database, client_factory):
    person = await factories.staff(["clerk"])
    client = await client_factory()
    client.cookies.set(COOKIE, "planted-by-an-attacker", domain="testserver.local")  # session fixation attempt
    await factories.sign_in(client, person["username"])
    first = client.cookies.get(COOKIE)
    assert first and first != "planted-by-an-attacker"
    token = await factories.form_token(client, "/console/")
    await client.post("/console/logout", data={"_csrf_token": token})
    await factories.sign_in(client, person["username"])
    second = client.cookies.get(COOKIE)
    assert second and second != first
    replay = await client_factory()
    replay.cookies.set(COOKIE, first, domain="testserver.local")
    response = await replay.get("/console/", follow_redirects=False)
    assert response.status_code in (302, 303) and "/console/login" in response.headers["location"]
    assert (await client.get("/console/")).status_code == 200


async def test_session_cookie_flags(database, client_factory):
    person = await factories.staff(["clerk"])
    client = await client_factory()
    response = await factories.sign_in(client, person["username"])
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


async def test_sign_out_everywhere_ends_other_sessions(database, client_factory):
    person = await factories.staff(["clerk"])
    laptop, phone = await client_factory(), await client_factory()
    await factories.sign_in(laptop, person["username"])
    await factories.sign_in(phone, person["username"])
    assert (await phone.get("/console/")).status_code == 200
    token = await factories.form_token(laptop, "/console/")
    response = await laptop.post("/console/logout-everywhere", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert (await phone.get("/console/", follow_redirects=False)).status_code in (302, 303)
    assert (await laptop.get("/console/", follow_redirects=False)).status_code in (302, 303)


async def test_open_redirect_is_refused(database, client_factory):
    person = await factories.staff(["clerk"])
    client = await client_factory()
    token = await factories.csrf(client)
    response = await client.post("/console/login", data={
        "login": person["username"], "password": factories.PASSWORD, "_csrf_token": token,
        "next": "https://evil.example/phish"}, follow_redirects=False)
    assert response.headers["location"] == "/console/"


async def test_idle_and_absolute_timeouts(app):
    store: SessionStore = app.state.sessions
    short = SessionStore(store.redis, idle_seconds=1, absolute_seconds=3600)
    session_id = await short.create("staff", 1, 0)
    assert await short.load(session_id) is not None
    time.sleep(1.2)
    assert await short.load(session_id) is None  # idle: the Redis key expired
    absolute = SessionStore(store.redis, idle_seconds=3600, absolute_seconds=0)
    session_id = await absolute.create("staff", 1, 0)
    time.sleep(0.01)
    assert await absolute.load(session_id) is None


def test_password_rules():
    assert password_problems("short-pw1") == ["The password must be at least 12 characters long."]
    assert "The password must not contain your user name." in password_problems("wangfang-2026-x", "wangfang")
    assert "The password is too easy to guess." in password_problems("aaaaaaaaaaaaaaa")
    assert password_problems("Correct-Horse-Battery-9", "clerk") == []
