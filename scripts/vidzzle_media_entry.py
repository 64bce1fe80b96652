"""Entry point of the one-file binary (PyInstaller needs a script, not a module)."""

from vidzzle_media.cli import main

raise SystemExit(main())
