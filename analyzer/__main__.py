"""``python -m analyzer`` is the ``mailtls`` command."""

from analyzer.cli import main

raise SystemExit(main())
