"""Request and response bodies of the account routes (pydantic, for the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import Page, User


class PasswordChange(BaseModel):
    """The caller's current password and the new one (at least 8 characters)."""

    current_password: str
    new_password: str = Field(min_length=8)


class LoggedOut(BaseModel):
    """The presented token is revoked."""

    logged_out: bool


class Account(User):
    """A user as admins see it: also whether it is disabled."""

    disabled: bool = False


class AccountsPage(Page):
    """One page of users, by name."""

    items: list[Account]


class AccountChange(BaseModel):
    """What an admin changes of a user: `disabled` and/or `admin`."""

    disabled: bool | None = None
    admin: bool | None = None
