"""/admin/campaigns in headless Chromium: a campaign's numbers, the opt-out register edited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from chatbot.campaigns.service import Campaigns
from chatbot.domain import Inbound
from chatbot.web.app import create_app
from db import campaign_queries as cq
from db.engine import read
from flows.events import CloseCase
from settings import Settings
from tests.clock import FrozenClock
from tests.fakes.server import ThreadedServer
from tests.web.auth_helpers import add_user, login


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Iterator[FastAPI]:
    app: FastAPI = create_app(settings, clock=clock)
    add_user(app, "ani", "admin")
    add_user(app, "budi", "agent")
    yield app
    app.state.engine.dispose()


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    server = ThreadedServer(app, lifespan="on", timeout_graceful_shutdown=2).start()
    yield server.url
    server.stop()


def test_admin_sees_campaigns_and_edits_the_register(
    page: Page, server: str, app: FastAPI, clock: FrozenClock
) -> None:
    Campaigns(app.state.engine).create(
        name="Caring <b>CT-0</b>",
        channel="whatsapp",
        template="HX" + "a" * 32,
        variables={"1": "name"},
        audience_csv="phone,name\n081234567890,Wulan\n081234567890,Dup\nxx,Bad\n",
        profile="telkom",
        now=clock.now(),
    )
    login(page, "ani", base_url=server)
    page.goto(f"{server}/admin/campaigns")
    row = page.locator("#campaign-1")
    expect(row).to_contain_text("Caring <b>CT-0</b>")  # escaped, shown as written
    expect(row).to_contain_text("draft")
    expect(row).to_contain_text("1 invalid, 1 duplicates")

    page.fill("#number", "0812-9999-0000")
    page.click("#add-optout button")
    expect(page.locator("#message")).to_contain_text("+6281299990000 will get no campaign")
    expect(page.locator("#optout-\\+6281299990000")).to_contain_text("ani")
    page.fill("#number", "bukan nomor")
    page.click("#add-optout button")
    expect(page.locator("#error")).to_contain_text("not a phone number")
    page.locator("#optout-\\+6281299990000 button").click()
    expect(page.locator("#message")).to_contain_text("may get campaign messages again")
    with read(app.state.engine) as conn:
        assert cq.list_opt_outs(conn) == []


def test_the_page_is_for_admins_only(page: Page, server: str) -> None:
    login(page, "budi", base_url=server)
    response = page.goto(f"{server}/admin/campaigns")
    assert response is not None
    assert response.status == 403


def test_team_leader_follows_each_agents_campaign_work(
    page: Page, server: str, app: FastAPI, clock: FrozenClock
) -> None:
    add_user(app, "sinta", "supervisor")
    budi = next(u for u in app.state.accounts.list_users() if u.name == "budi")
    engine = app.state.engine
    campaign_id = (
        Campaigns(engine)
        .create(
            name="Caring CT-0",
            channel="whatsapp",
            template="HX" + "a" * 32,
            variables={"1": "name"},
            audience_csv="phone,name\n081234567890,Wulan\n081298765432,Andi\n",
            profile="telkom",
            now=clock.now(),
        )
        .campaign_id
    )
    Campaigns(engine).start(campaign_id, now=clock.now())
    with engine.begin() as conn:  # as the dispatcher records two accepted sends
        for n, row in enumerate(
            cq.claim_recipients(
                conn, campaign_id=campaign_id, now=clock.now(), until=clock.now(), limit=10
            )
        ):
            cq.mark_sent(conn, recipient_id=row["id"], provider_id=f"SM{n}", now=clock.now())
    desk = app.state.desk
    for number, n in (("+6281234567890", 1), ("+6281298765432", 2)):
        desk.receive(Inbound("whatsapp", number, f"m{n}", text="internet saya putus terus"))
    wulan = desk.receive(Inbound("whatsapp", "+6281234567890", "m3", text="Wulan")).case_id
    agents = app.state.agent_desk
    agents.take(wulan, budi)
    clock.advance(minutes=2)
    agents.reply(wulan, budi, text="Halo kak Wulan, kami cek jaringannya ya.")
    clock.advance(minutes=3)
    desk.receive(Inbound("whatsapp", "+6281234567890", "m4", text="baik kak terima kasih"))

    login(page, "sinta", base_url=server)
    page.goto(f"{server}/desk/campaigns")
    expect(page.locator("#totals")).to_contain_text("2 replied")
    cells = page.locator("#agent-budi td")
    expect(cells).to_have_text(["budi", "1", "1", "1", "1"])
    expect(page.locator("#agent-queue td")).to_have_text(["(in the queue)", "1", "0", "0", "1"])
    assert page.goto(f"{server}/desk/campaigns?campaign=99").status == 404  # type: ignore[union-attr]

    # QC tapping: the campaign's closed cases, per agent, from the QA review's sample.
    andi = desk.receive(Inbound("whatsapp", "+6281298765432", "m5", text="Andi")).case_id
    agents.take(andi, budi)
    with desk.transaction() as conn:
        for case_id in (wulan, andi):
            desk.apply_effects(conn, case_id, None, [CloseCase("resolved", "budi")], clock.now())
    other = agents.open_case(
        budi, source="phone", complaint="telepon soal tagihan", fields={}, client_name="Rina"
    )
    with desk.transaction() as conn:
        desk.apply_effects(conn, other, None, [CloseCase("resolved", "budi")], clock.now())
    page.goto(f"{server}/desk/campaigns")
    page.click("#tapping")
    expect(page.locator("h1")).to_have_text(f"Quality review: campaign #{campaign_id}")
    sample = page.locator("#samples a[data-case]")
    expect(sample).to_have_count(2)
    assert sorted(int(a.get_attribute("data-case") or 0) for a in sample.all()) == sorted(
        [wulan, andi]
    )


def test_admin_uploads_an_audience_sees_the_preview_and_starts_it(
    page: Page, server: str, app: FastAPI
) -> None:
    login(page, "ani", base_url=server)
    page.goto(f"{server}/admin/campaigns")
    page.fill("#c-name", "Caring Desember")
    page.fill("#c-template", "HX" + "b" * 32)
    page.fill("#c-variables", '{"1": "name", "2": "paket"}')
    page.set_input_files(
        "#c-audience",
        files=[
            {
                "name": "pelanggan.csv",
                "mimeType": "text/csv",
                "buffer": (
                    b"phone;name;paket\n0812-3456-7890;Wulan;IndiHome 30\n"
                    b"+6281234567890;Dup;x\nsalah;Bad;y\n"
                ),
            }
        ],
    )
    page.click("#new-campaign button")
    message = page.locator("#message")
    expect(message).to_contain_text("Draft campaign 1: 1 recipients, 1 invalid, 1 duplicates")
    expect(message).to_contain_text('+6281234567890): {"1": "Wulan", "2": "IndiHome 30"}')
    page.locator("#campaign-1 button[value=start]").click()
    expect(page.locator("#message")).to_contain_text("Campaign 1 is running.")
    expect(page.locator("#campaign-1")).to_contain_text("running")
    page.locator("#campaign-1 button[value=cancel]").click()
    expect(page.locator("#campaign-1")).to_contain_text("cancelled")

    page.fill("#c-name", "Tanpa kolom")
    page.fill("#c-template", "HX" + "b" * 32)
    page.fill("#c-variables", '{"1": "alamat"}')
    page.set_input_files(
        "#c-audience",
        files=[{"name": "a.csv", "mimeType": "text/csv", "buffer": b"phone\n081234567890\n"}],
    )
    page.click("#new-campaign button")
    expect(page.locator("#error")).to_contain_text("alamat")
