"""Be a WhatsApp client of a local Loket: no Twilio account, no phone, no public URL.

Starts the fake Twilio API of the tests (tests/fakes/twilio_api.py) and `loket serve` aimed
at it on a fresh SQLite file; then every line you type is posted to /webhooks/twilio as
Twilio would post a WhatsApp message (signed with the fake's auth token), and every reply
Loket sends to the fake is printed. Open the printed console URL to answer as an agent
(the first admin's password is printed once, from serve's log).

Usage:
    python scripts/play_whatsapp.py [--profile erzap] [--port 8000] [--keep]

Type a line to send it, `/quit` (or Ctrl-D) to stop. `--keep` leaves the database and the
log in place (their folder is printed) for `loket cases --json` afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.payloads import twilio_form, twilio_signed  # noqa: E402
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi  # noqa: E402

DESK_NUMBER = "whatsapp:+14155238886"
CLIENT = "whatsapp:+6281234567890"


def say(line: str) -> None:
    """One line to the developer's terminal, at once (the replies come from another thread)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    """Run the fake, serve and the prompt until /quit or end of input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="erzap")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--keep", action="store_true", help="keep the database and the log")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="loket-play-"))
    twilio = FakeTwilioApi().start()
    url = f"http://127.0.0.1:{args.port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env.update(
        LOKET_DATABASE_URL=f"sqlite:///{home}/loket.db",
        LOKET_PUBLIC_URL=url,  # Twilio signs the URL it calls; so does this script
        LOKET_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        LOKET_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        LOKET_TWILIO_WHATSAPP_FROM=DESK_NUMBER,
        LOKET_TWILIO_BASE_URL=twilio.url,
    )
    log = (home / "serve.log").open("w")
    command = [sys.executable, "-m", "chatbot", "serve", f"--port={args.port}"]
    serve = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        [*command, f"--profile={args.profile}"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(url, serve)
        _say_where(home, url)
        stop = threading.Event()
        threading.Thread(target=_print_replies, args=(twilio, stop), daemon=True).start()
        _prompt(url)
        stop.set()
        time.sleep(0.5)  # the last replies
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        log.close()
        twilio.stop()
        if args.keep:
            say(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def _wait_until_up(url: str, serve: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise SystemExit("loket serve stopped; see its log above")
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("loket serve did not answer /healthz within 120 s")


def _say_where(home: Path, url: str) -> None:
    for line in (home / "serve.log").read_text().splitlines():
        if "password" in line.lower():
            say(line)  # the first admin's, said once by `loket serve`
    say(f"Console: {url}/desk  (log: {home}/serve.log)")
    say("You are a WhatsApp client. Type a message; /quit to stop.")
    say("(Replies start once the background worker is up: messages wait in the inbox.)")


def _prompt(url: str) -> None:
    ids = itertools.count(1)
    for line in sys.stdin:
        text = line.rstrip("\n")
        if text == "/quit":
            return
        if not text:
            continue
        sid = f"SM{next(ids):032x}"
        fields = twilio_form("whatsapp_text", Body=text, MessageSid=sid, SmsMessageSid=sid)
        fields |= {"SmsSid": sid, "From": CLIENT, "To": DESK_NUMBER}
        target = f"{url}/webhooks/twilio"
        body, headers = twilio_signed(target, fields, AUTH_TOKEN)
        answer = httpx.post(target, content=body, headers=headers)
        if answer.status_code != 200:
            say(f"  (webhook answered {answer.status_code}: {answer.text})")


def _print_replies(twilio: FakeTwilioApi, stop: threading.Event) -> None:
    shown = 0
    while not stop.is_set():
        sent = twilio.calls()
        for call in sent[shown:]:
            text = call.form.get("Body") or f"(template {call.form.get('ContentSid')})"
            say("bot> " + text.replace("\n", "\n     "))
        shown = len(sent)
        time.sleep(0.1)


if __name__ == "__main__":
    raise SystemExit(main())
