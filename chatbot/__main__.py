"""Run the `loket` command as `python -m chatbot`."""

from chatbot.cli import main

raise SystemExit(main())
