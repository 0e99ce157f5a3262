"""How the CLI takes a site's SSO secret: from standard input or a named environment variable,
or (discouraged) as an argument.

An argument is visible to every user of the machine in the process list and stays in shell
history; stdin and an environment variable are not, so the operator's secret store can hand the
secret over (``vault read … | comments-service site create … --sso-secret-stdin``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import TextIO


class SecretInputError(ValueError):
    """The secret was asked for in a way that gave none; the message says which and why."""


def add_sso_secret_arguments(parser: argparse.ArgumentParser) -> None:
    """--sso-secret / --sso-secret-stdin / --sso-secret-env, at most one of them."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sso-secret-stdin", action="store_true",
                       help="read the HS256 secret the host signs reader tokens with from standard input "
                            "(its first line)")
    group.add_argument("--sso-secret-env", metavar="VARIABLE",
                       help="read that secret from this environment variable")
    group.add_argument("--sso-secret", metavar="SECRET",
                       help="that secret as an argument (visible in the process list and shell history: prefer "
                            "--sso-secret-stdin or --sso-secret-env)")


def sso_secret_from(args: argparse.Namespace, stdin: TextIO | None = None,
                    environ: Mapping[str, str] | None = None) -> str | None:
    """The secret the arguments point at; None when none was asked for. SecretInputError when the
    place named holds no secret."""
    if getattr(args, "sso_secret_stdin", False):
        line = (stdin or sys.stdin).readline()
        secret = line.removesuffix("\n").removesuffix("\r")
        if not secret:
            raise SecretInputError("--sso-secret-stdin: standard input held no secret (an empty first line)")
        return secret
    variable = getattr(args, "sso_secret_env", None)
    if variable:
        secret = (os.environ if environ is None else environ).get(variable, "")
        if not secret:
            raise SecretInputError(f"--sso-secret-env: the environment variable {variable} is not set or empty")
        return secret
    value: str | None = getattr(args, "sso_secret", None)
    if value is not None and not value:
        raise SecretInputError("--sso-secret: the secret is empty")
    return value
