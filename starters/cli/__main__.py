"""``python -m starters.cli``: the same as the ``remediator`` console script."""

from starters.cli import main

main()
