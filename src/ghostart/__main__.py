"""``python -m ghostart``: the same as the ``ghostart`` command."""

from ghostart.cli import main

main()
