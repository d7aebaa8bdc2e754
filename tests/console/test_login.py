"""The login page in a real browser: the form logs a persona in, lands on their first page,
shows a translated error for a wrong password, and the header names the user."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import Server, login_as


def test_login_lands_on_the_big_screen_and_names_the_user(
    console_server: Server, console_page: Any
) -> None:
    page = console_page
    login_as(page, console_server, "chief", next_path="/console/screen")
    assert page.url.endswith("/console/screen")
    page.wait_for_selector("#user-name:not(:empty)")
    assert page.locator("#user-role").inner_text() == "值班长"
    # the nav shows the centre's pages and not the admin-only configuration
    assert page.get_by_role("link", name="指挥大屏").is_visible()
    assert not page.get_by_role("link", name="配置管理").is_visible()
    assert page.console_errors == []


def test_wrong_password_shows_a_translated_error_in_place(
    console_server: Server, console_page: Any
) -> None:
    page = console_page
    page.goto(f"{console_server.url}/login")
    page.get_by_label("用户名").fill("chief")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert "用户名或密码错误" in error.inner_text()
    assert "/login" in page.url


def test_login_keeps_only_same_site_next_paths(console_server: Server, console_page: Any) -> None:
    page = console_page
    login_as(page, console_server, "auditor", next_path="//evil.example/x")
    assert page.url.startswith(console_server.url)
