"""`python -m vidzzle_media` is the same as the `vidzzle-media` console script."""

from .cli import main

raise SystemExit(main())
