"""`detector media delete ID`: delete a media, its results, heatmaps and (unshared) bytes."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add `media delete` to the `detector` command."""
    parser = sub.add_parser("media", help="uploaded media")
    actions = parser.add_subparsers(dest="action", required=True)
    delete = actions.add_parser("delete", help="delete a media and everything made from it")
    delete.add_argument("media_id")
    delete.add_argument("--user", help="only when this user owns it (name)")
    delete.set_defaults(func=delete_command)


def delete_command(args: argparse.Namespace) -> int:
    """Run `detector media delete`."""
    from cli.main import cli_actor
    from cli.stack import embedded_stack
    from storage import audit
    from storage.db import get_db
    from storage.purge import delete_media_fully
    from storage.users import get_user_by_name

    with embedded_stack(register_models=False) as cfg:
        db = get_db()
        owner = None
        if args.user:
            user = get_user_by_name(db, args.user)
            if user is None:
                print(f"error: no user {args.user!r}", file=sys.stderr)
                return 1
            owner = user["user_id"]
        removed = delete_media_fully(db, cfg.media_root, args.media_id, owner)
        if removed is None:
            print(f"error: no media {args.media_id}", file=sys.stderr)
            return 1
        audit.record(db, "media.deleted", user_id=owner or cli_actor(), address="cli",
                     media_id=args.media_id)
    print(json.dumps(removed))
    return 0
