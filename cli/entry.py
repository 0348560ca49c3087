"""The ``safemap`` console script.

``safemap plan cameras`` goes straight to its argparse parser (``cli.plan``) without
importing typer and the rest of the CLI, which would cost more than the plan itself on a
5,000-point instance; every other command goes to the typer application in ``cli.main``.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:2] == ["plan", "cameras"]:
        from cli import plan

        sys.exit(plan.main(argv[2:]))
    from cli.main import main as typer_main

    typer_main()


if __name__ == "__main__":  # pragma: no cover
    main()
