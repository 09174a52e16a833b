"""What the frame of every /desk page (templates/desk/base.html) needs, in one place.

The console's pages and the Operations pages (chatbot/web/visits.py) share the header: the
user, their console settings (language, presence, display name) and the translations. Each
router reads the settings once per request with `load_console_settings`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from chatbot.agents.agent_desk import PRESENCES, SUPERVISOR_ROLES
from chatbot.web.console_text import DEFAULT_LOCALE, gettext_for
from chatbot.web.deps import AgentsDep, SettingsDep


def load_console_settings(request: Request, agents: AgentsDep, settings: SettingsDep) -> None:
    """The user's console settings (language, presence), read once for the whole page."""
    user = getattr(request.state, "user", None)
    request.state.desk_settings = agents.settings_of(user) if user is not None else None
    request.state.whatsapp_template = bool(settings.twilio_whatsapp_template_sid)


def frame_context(request: Request) -> dict[str, Any]:
    """The header's variables and the page's language (`lang`, `_`)."""
    user = request.state.user
    me = getattr(request.state, "desk_settings", None)
    lang = me.ui_locale if me is not None else DEFAULT_LOCALE
    return {
        "user": user,
        "me": me,
        "whatsapp_template": getattr(request.state, "whatsapp_template", False),
        "presences": PRESENCES,
        "is_supervisor": user is not None and user.role in SUPERVISOR_ROLES,
        "lang": lang,
        "_": gettext_for(lang),
    }
