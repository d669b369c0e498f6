"""``python -m service.cli``: the ``clinsynth`` command."""

from service.cli.app import main

main()
