"""A staff member signs in at the server's console, for the commands that act in
their name (a cash count, a recount, a credit).

It is the API's own password check, so the name on the record is one that proved
itself and the rules between people (a recount by someone other than the counter)
hold the same at the console as through the API. The password comes from
``PREPAID_STAFF_PASSWORD`` (for scripts) or is asked for at a terminal, never from the
command line, where other users of the machine could read it.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import replace

from sqlalchemy import Connection

from central.auth.principal import Principal, Role
from central.auth.staff import check_password
from central.errors import Forbidden, Unauthorized

PASSWORD_VARIABLE = "PREPAID_STAFF_PASSWORD"


def password_for(username: str) -> str:
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    if not sys.stdin.isatty():
        raise Unauthorized(
            f"{username}'s password is needed: run this at a terminal to be asked for it, "
            f"or set {PASSWORD_VARIABLE} in a script",
            code="password_needed",
        )
    return getpass.getpass(f"password for {username}: ")


def sign_in(conn: Connection, username: str, password: str, *, role: Role) -> Principal:
    """The staff member, if the password is theirs and their role may do this."""
    _, who = check_password(conn, username=username, password=password)
    if who.role is not role:
        raise Forbidden(
            f"{username} is a {who.role.value}; this is done by a {role.value}",
            code="forbidden_role",
        )
    return replace(who, remote="console")
