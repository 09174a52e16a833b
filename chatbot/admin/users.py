"""The users page's view of desk accounts: list, add, set a role, disable or enable.

`UserDirectory` is what the admin's users page (chatbot/web/admin.py) needs;
`AccountDirectory` provides it on top of the login's `Accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chatbot.admin.accounts import Accounts


@dataclass(frozen=True, slots=True)
class UserEntry:
    """A desk user as the users page lists them."""

    name: str
    role: str
    active: bool


class UserDirectory(Protocol):
    """The user accounts the admin manages; `AccountDirectory` below implements it.

    Each method raises `LoketError` (its message is shown to the admin) for a refused change,
    e.g. an unknown user, a taken name or a weak password.
    """

    def list_users(self) -> list[UserEntry]:
        """Every user, agents, supervisors and admins."""
        ...

    def add_user(self, name: str, role: str, password: str) -> None:
        """Create an active user."""
        ...

    def set_role(self, name: str, role: str) -> None:
        """Change a user's role."""
        ...

    def set_active(self, name: str, active: bool) -> None:
        """Disable (or enable again) a user; a disabled user cannot log in."""
        ...


class AccountDirectory:
    """The users page's `UserDirectory`, on top of the login's Accounts."""

    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    def list_users(self) -> list[UserEntry]:
        """Every user, by name."""
        return [UserEntry(u.name, u.role, u.active) for u in self._accounts.list_users()]

    def add_user(self, name: str, role: str, password: str) -> None:
        """Create an active user (argon2 hash; at least 8 characters)."""
        self._accounts.add_user(name, role, password)

    def set_role(self, name: str, role: str) -> None:
        """Change a user's role; the last admin stays admin."""
        self._accounts.set_role(name, role)

    def set_active(self, name: str, active: bool) -> None:
        """Disable (their sessions end at once) or enable again."""
        self._accounts.set_active(name, active)
