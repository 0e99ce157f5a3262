"""`comments-service site list | show | create | update | delete`: the operator's door to
services/site_admin.SiteAdmin (the admin API is the other; both follow its rules). The operator at
the console acts for every site (site_admin.OPERATOR). Exit status: 0 done, 1 refused (the id
exists, unknown site, comments without --force), 2 bad input (an origin, a setting, a missing
confirmation)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable

import msgspec

from .errors import DomainError
from .secret_input import SecretInputError, add_sso_secret_arguments, sso_secret_from
from .services.site_admin import OPERATOR, SiteAdmin, SiteInfo

# What the CLI gives: run one piece of work with its SiteAdmin over migrated storage, and return
# what the work returned.
SiteWork = Callable[[SiteAdmin], Awaitable[int]]
WithSiteAdmin = Callable[[SiteWork], int]


def add_arguments(site: argparse._SubParsersAction, default: Callable[[argparse.Namespace], int]) -> None:
    """The `site` sub-commands (``default`` runs them)."""
    settings_help = ("site settings as a JSON object, checked whole before anything is saved (README, Site "
                     "management); on update merged over the stored ones, a key set to null back to its default")
    slist = site.add_parser("list", help="every site with its counts and whether its settings are valid")
    slist.add_argument("--json", action="store_true", help="print JSON")
    slist.set_defaults(func=default)
    sshow = site.add_parser("show", help="one site: origins, options, settings, what it holds")
    sshow.add_argument("id")
    sshow.add_argument("--json", action="store_true", help="print JSON")
    sshow.set_defaults(func=default)
    create = site.add_parser("create", help="create a site (an existing id is refused: use update)")
    create.add_argument("--id", required=True)
    create.add_argument("--name")
    create.add_argument("--origin", action="append", default=[], help="allowed origin (repeatable)")
    create.add_argument("--guests", action="store_true", help="allow guest comments")
    create.add_argument("--images", action="store_true",
                        help="allow images in comments; there is no image proxy, so readers' IP addresses "
                             "reach the image hosts (see README)")
    create.add_argument("--settings", type=_settings_json, help=settings_help)
    add_sso_secret_arguments(create)
    create.set_defaults(func=default)
    update = site.add_parser("update", help="change a site: only the options given change")
    update.add_argument("id")
    update.add_argument("--name")
    update.add_argument("--origin", action="append", default=None,
                        help="allowed origin (repeatable); the ones given replace the site's list")
    update.add_argument("--guests", action=argparse.BooleanOptionalAction, default=None,
                        help="allow (or with --no-guests refuse) guest comments")
    update.add_argument("--images", action=argparse.BooleanOptionalAction, default=None,
                        help="allow images in comments (no image proxy: readers' IP addresses reach the image "
                             "hosts) or, with --no-images, refuse them")
    update.add_argument("--settings", type=_settings_json, help=settings_help)
    update.add_argument("--remove-sso-secret", action="store_true", help="remove the SSO secret (no sign-in)")
    add_sso_secret_arguments(update)
    update.set_defaults(func=default)
    sdelete = site.add_parser("delete", help="delete a site and everything it holds (asks to confirm)")
    sdelete.add_argument("id")
    sdelete.add_argument("--force", action="store_true", help="delete it even though it still has comments")
    sdelete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sdelete.set_defaults(func=default)


def run_command(args: argparse.Namespace, with_site_admin: WithSiteAdmin) -> int:
    commands: dict[str, Callable[[argparse.Namespace, WithSiteAdmin], int]] = {
        "list": _list, "show": _show, "create": _create, "update": _update, "delete": _delete}
    return commands[args.site_command](args, with_site_admin)


def _run(with_site_admin: WithSiteAdmin, work: SiteWork) -> int:
    """``work`` as the operator; a refusal (errors.DomainError) prints its message and exits 2 for
    bad input, 1 for anything else refused."""
    try:
        return with_site_admin(work)
    except DomainError as exc:
        print(f"comments-service: {exc.message}", file=sys.stderr)
        return 2 if exc.code in ("invalid_request", "invalid_site_settings") else 1


def _list(args: argparse.Namespace, with_site_admin: WithSiteAdmin) -> int:
    async def work(admin: SiteAdmin) -> int:
        sites = await admin.list_sites(OPERATOR)
        if args.json:
            print(msgspec.json.encode(sites).decode())
            return 0
        print("id\tcomments\tarticles\tguests\tsso\tsettings\tname\torigins")
        for s in sites:
            print(f"{s.id}\t{s.comments}\t{s.articles}\t{'yes' if s.guests else 'no'}\t{'yes' if s.sso else 'no'}"
                  f"\t{'INVALID' if s.settings_problem else 'ok'}\t{s.name}\t{','.join(s.origins)}")
        return 0

    return _run(with_site_admin, work)


def _show(args: argparse.Namespace, with_site_admin: WithSiteAdmin) -> int:
    async def work(admin: SiteAdmin) -> int:
        site = await admin.show(args.id, OPERATOR)
        if args.json:
            print(msgspec.json.encode(site).decode())
        else:
            _print_site(site)
        return 0

    return _run(with_site_admin, work)


def _create(args: argparse.Namespace, with_site_admin: WithSiteAdmin) -> int:
    sso_secret = _sso_secret_or_exit(args)

    async def work(admin: SiteAdmin) -> int:
        site = await admin.create(site_id=args.id, name=args.name, origins=args.origin, sso_secret=sso_secret,
                                  guests=args.guests, images=args.images, settings=args.settings, staff=OPERATOR)
        print(f"site {site.id!r} created (origins: {', '.join(site.origins) or 'none'}; guests: {site.guests})")
        return 0

    return _run(with_site_admin, work)


def _update(args: argparse.Namespace, with_site_admin: WithSiteAdmin) -> int:
    sso_secret = _sso_secret_or_exit(args)

    async def work(admin: SiteAdmin) -> int:
        site = await admin.update(args.id, name=args.name, origins=args.origin, sso_secret=sso_secret,
                                  remove_sso=args.remove_sso_secret, guests=args.guests, images=args.images,
                                  settings=args.settings, staff=OPERATOR)
        print(f"site {site.id!r} updated")
        _print_site(site)
        return 0

    return _run(with_site_admin, work)


def _delete(args: argparse.Namespace, with_site_admin: WithSiteAdmin) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            print("comments-service: deleting a site needs confirmation: run it in a terminal, or pass --yes",
                  file=sys.stderr)
            return 2
        site = _shown(args.id, with_site_admin)
        if site is None:
            return 1
        if site.comments and not args.force:
            print(f"comments-service: site {site.id!r} has {site.comments} comment(s); nothing was deleted "
                  "(export them first if you need them; --force deletes them with the site)", file=sys.stderr)
            return 1
        answer = input(f"Delete site {site.id!r} with its {site.comments} comment(s), {site.articles} article(s) "
                       f"and {site.users} reader(s)? This cannot be undone. Type the site id to confirm: ")
        if answer.strip() != site.id:
            print("not deleted", file=sys.stderr)
            return 1

    async def work(admin: SiteAdmin) -> int:
        gone = await admin.delete(args.id, force=args.force, staff=OPERATOR)
        print(f"site {gone.id!r} deleted with {gone.comments} comment(s), {gone.articles} article(s) and "
              f"{gone.users} reader(s)")
        if gone.articles and gone.cache_expires_within_s is not None:
            print("comments-service: Redis was not reached (COMMENTS_REDIS_URL): pages and counts cached of the "
                  f"site's articles expire on their own within {gone.cache_expires_within_s} s "
                  "(COMMENTS_REDIS_PAGE_TTL, COMMENTS_REDIS_COUNT_TTL); do not make a site with this id again "
                  "before then", file=sys.stderr)
        return 0

    return _run(with_site_admin, work)


def _shown(site_id: str, with_site_admin: WithSiteAdmin) -> SiteInfo | None:
    shown: list[SiteInfo] = []

    async def work(admin: SiteAdmin) -> int:
        shown.append(await admin.show(site_id, OPERATOR))
        return 0

    return shown[0] if _run(with_site_admin, work) == 0 else None


def _print_site(site: SiteInfo) -> None:
    yes_no = {True: "yes", False: "no"}
    print(f"id:        {site.id}\nname:      {site.name}\norigins:   {', '.join(site.origins) or 'none'}\n"
          f"guests:    {yes_no[site.guests]}\nimages:    {yes_no[site.images]}\n"
          f"sso:       {'secret set' if site.sso else 'none'}\ncreated:   {site.created_at.isoformat()}\n"
          f"holds:     {site.comments} comment(s) on {site.articles} article(s), {site.users} reader(s)\n"
          f"settings:  {json.dumps(site.settings, sort_keys=True)}")
    if site.settings_problem:
        print(f"INVALID:   {site.settings_problem} (correct it with `site update {site.id} --settings JSON`)")


def _sso_secret_or_exit(args: argparse.Namespace) -> str | None:
    try:
        return sso_secret_from(args)  # read before any work, so a bad source changes nothing
    except SecretInputError as exc:
        print(f"comments-service: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _settings_json(value: str) -> dict[str, object]:
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"report_threshold\": 3}'")
    return parsed
