"""``jobweave token``: the API tokens of the dashboard and REST API."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from jobweave.cli.app import EXIT_OK, CommandError, JsonOption, StoreOption, app, engine_for


@app.command("token")
def token_command(
    action: Annotated[str, typer.Argument(metavar="ACTION",
                                          help="create, list or revoke")],
    target: Annotated[str | None, typer.Argument(
        metavar="NAME", help="revoke: the token's name (or id) to revoke")] = None,
    role: Annotated[str, typer.Option(
        "--role", help="create: viewer (reads), operator (acts on runs) or admin "
                       "(also manages tokens)")] = "viewer",
    name: Annotated[str | None, typer.Option(
        "--name", help="create: who or what uses the token (default: your user name)")]
    = None,
    store: StoreOption = None,
    json_out: JsonOption = False,
) -> int:
    """Make, list or revoke API tokens (create prints the token once; the store keeps
    its hash)."""
    from jobweave.store.access import ROLES, create_token, list_tokens, revoke_token

    db = engine_for(store).store
    if action == "create":
        if role not in ROLES:
            raise CommandError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        who = name or getpass.getuser()
        token = create_token(db, role, who)
        if json_out:
            sys.stdout.write(json.dumps({"name": who, "role": role, "token": token}) + "\n")
        else:
            sys.stdout.write(token + "\n")
            sys.stderr.write(f"token for {who} ({role}): shown once, keep it safe\n")
    elif action == "list":
        rows = [{"name": t.name, "role": t.role, "id": t.digest[:12],
                 "created_at": t.created_at} for t in list_tokens(db)]
        if json_out:
            sys.stdout.write(json.dumps(rows) + "\n")
        elif not rows:
            sys.stderr.write("no tokens\n")
        for r in [] if json_out else rows:
            sys.stdout.write(f"{r['id']}  {r['role']:<8}  {r['name']}\n")
    elif action == "revoke":
        if not target:
            raise CommandError("name the token to revoke: jobweave token revoke NAME")
        gone = revoke_token(db, target)
        if not gone:
            raise CommandError(f"no token named {target!r}")
        sys.stdout.write(f"revoked {gone} token(s)\n")
    else:
        raise CommandError(f"unknown action {action!r}: use create, list or revoke")
    return EXIT_OK
