"""``python -m jiedai_flow.cli``: the ``jiedai`` command."""

from jiedai_flow.cli import main

main()
