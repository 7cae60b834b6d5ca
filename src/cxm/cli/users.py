"""``cxm users``: the people who sign in to the dashboard with a password."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cxm.cli.context import cli_actor, open_workspace

out = Console()
users_app = typer.Typer(help="Users of the dashboard: add, list, disable, set a password.",
                        no_args_is_help=True)  # fmt: skip
PASSWORD_ENV = "CXM_NEW_PASSWORD"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _password() -> str:
    """From CXM_NEW_PASSWORD (scripts), else asked twice without echo."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_', '-'.")],
    role: Annotated[str, typer.Option(help="admin, analyst, agent or viewer.")],
    name: Annotated[str | None, typer.Option(help="The person's name, as shown.")] = None,
    department: Annotated[
        str | None,
        typer.Option(help="Hold an agent or viewer to one department of the journey map."),
    ] = None,
) -> None:
    """Add a user; the password is asked for (or read from CXM_NEW_PASSWORD)."""
    from cxm.auth.users import do_create_user

    ws = open_workspace()
    password = _password()
    with ws.session() as s:
        user = do_create_user(s, actor=cli_actor(), username=username, password=password,
                              role=role, name=name, department=department)  # fmt: skip
    held = f", held to {user.department}" if user.department else ""
    out.print(f"user {user.username} ({user.role}{held}) added")


@users_app.command("list")
def list_() -> None:
    """Every user with their role and last sign-in."""
    from cxm.auth.users import list_users

    ws = open_workspace()
    with ws.session() as s:
        found = list_users(s)
    table = Table(title=f"{len(found)} users")
    for column in ("user", "name", "role", "department", "last sign-in", "state"):
        table.add_column(column)
    for u in found:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        table.add_row(u.username, u.name or "", u.role, u.department or "", last,
                      "disabled" if u.disabled else "active")  # fmt: skip
    out.print(table)


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The user name.")]) -> None:
    """Disable a user: no sign-in, and their open sessions end at the next page."""
    from cxm.auth.users import do_disable_user

    ws = open_workspace()
    with ws.session() as s:
        do_disable_user(s, actor=cli_actor(), username=username)
    out.print(f"user {username} disabled")


@users_app.command("password")
def password(username: Annotated[str, typer.Argument(help="The user name.")]) -> None:
    """Set a new password (asked for, or read from CXM_NEW_PASSWORD)."""
    from cxm.auth.users import do_set_password

    ws = open_workspace()
    new = _password()
    with ws.session() as s:
        do_set_password(s, actor=cli_actor(), username=username, password=new)
    out.print(f"the password of {username} is changed")
