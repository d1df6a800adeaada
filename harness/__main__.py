"""`python -m harness`: the same as the `nat-harness` command."""

from harness.cli import main

main()
