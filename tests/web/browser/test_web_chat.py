"""A person chatting with the bot in a real browser: replies appear without reloading."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.web.conftest import LiveServer


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_a_whole_easy_case_in_the_browser(live_server: LiveServer, page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live_server.url)
    expect(page.locator("header")).to_have_text("HaloERZAP")

    say(page, "halo kak")
    expect(page.locator("#log li.out").first).to_contain_text("terima kasih sudah menghubungi")
    expect(page.locator("#log li.out")).to_have_count(2)

    say(page, "<script>alert('x')</script> cara tambah akun kasir baru gimana?")
    expect(page.locator("#log li.in").nth(1)).to_contain_text("<script>alert('x')</script>")
    expect(page.locator("#log li.out").last).to_contain_text("nama")
    say(page, "Wulan")
    expect(page.locator("#log li.out").last).to_contain_text("grup outlet")
    say(page, "outlet Kedai Wulan")
    expect(page.locator("#buttons button")).to_have_count(2)
    expect(page.locator("#log li.out").nth(-2)).to_contain_text("Tambah Pengguna")

    page.reload()  # the open quick replies come back with the transcript
    expect(page.locator("#buttons button")).to_have_count(2)
    page.click("#buttons button:has-text('Sudah')")
    expect(page.locator("#buttons button")).to_have_count(5)
    expect(page.locator("#buttons button").nth(4)).to_have_text("5 ⭐⭐⭐⭐⭐")  # the digit too
    page.reload()
    expect(page.locator("#buttons button")).to_have_count(5)
    page.click("#buttons button:has-text('5 ⭐')")
    expect(page.locator("#log li.out").last).to_contain_text("komentar")
    say(page, "mantap, cepat")
    expect(page.locator("#log li.out").last).to_contain_text("Terima kasih banyak")

    page.reload()  # the transcript is server-rendered on reload
    expect(page.locator("#log li.in").first).to_have_text("halo kak")
    assert dialogs == []


def test_a_message_lost_on_the_way_is_posted_again_and_stored_once(
    live_server: LiveServer, page: Page
) -> None:
    failures = [2]  # the first two posts never reach the server

    def flaky_network(route: Route) -> None:
        if failures[0] > 0:
            failures[0] -= 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/chat/messages", flaky_network)
    page.goto(live_server.url)
    say(page, "halo kak")
    expect(page.locator("#log li.out").first).to_contain_text(
        "terima kasih sudah menghubungi", timeout=15_000
    )
    expect(page.locator("#log li.in")).to_have_count(1)
    expect(page.locator("#send-error")).to_be_hidden()
    assert failures == [0]


def test_a_message_the_server_keeps_failing_comes_back_to_the_box_with_a_reason(
    live_server: LiveServer, page: Page
) -> None:
    posts: list[str] = []

    def server_down(route: Route) -> None:
        posts.append(route.request.post_data or "")
        route.fulfill(status=503, json={"ok": False, "error": "the desk is unavailable"})

    page.route("**/chat/messages", server_down)
    page.goto(live_server.url)
    say(page, "halo kak, mau tanya")
    expect(page.locator("#send-error")).to_contain_text("belum terkirim", timeout=15_000)
    expect(page.locator("#text")).to_have_value("halo kak, mau tanya")
    assert len(posts) == 3
    assert len(set(posts)) == 1  # the same message_id each time: stored once
    expect(page.locator("#log li")).to_have_count(0)
