"""/admin/campaigns/new: an audience upload says which rows it left out, and why."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def upload(admin: TestClient, audience: bytes, **fields: str) -> Any:
    """Post the new-campaign form: a WhatsApp template, `{"1": "name"}`, this audience file."""
    form = {
        "name": "Caring CT-0",
        "channel": "whatsapp",
        "template": "HX" + "a" * 32,
        "variables": '{"1": "name"}',
        **fields,
    }
    files = {"audience": ("audience.csv", audience, "text/csv")}
    return admin.post("/admin/campaigns/new", data=form, files=files)


def test_the_draft_lists_the_rows_left_out(admin: TestClient) -> None:
    page = upload(admin, b"phone,name\n081234567890,Wulan\nabc,Bad\n081234567890,Dup\n")
    assert page.status_code == 200
    assert "1 recipients, 1 invalid, 1 duplicates" in page.text
    assert "line 3: not a phone number: &#39;abc&#39;" in page.text  # escaped, as written
    assert "line 4: +6281234567890 is already in the audience" in page.text


def test_a_refusal_names_the_field_not_a_command_line_flag(admin: TestClient) -> None:
    page = upload(admin, b"phone,name\n081234567890,Wulan\n", window="8-20")
    assert page.status_code == 422
    assert "the daily window must be HH:MM-HH:MM" in page.text
    assert "--window" not in page.text


def test_the_sample_is_a_number_that_will_be_sent_to(admin: TestClient) -> None:
    added = admin.post("/admin/campaigns/optout", data={"action": "add", "number": "081234567890"})
    assert added.status_code == 200
    page = upload(admin, b"phone,name\n081234567890,Wulan\n081299990000,Sari\n")
    assert "1 opted out" in page.text
    assert "Sample (line 3, +6281299990000)" in page.text  # not the opted-out first row
