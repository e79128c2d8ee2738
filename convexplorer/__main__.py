"""``python -m convexplorer`` runs the app."""

from convexplorer.app import main

raise SystemExit(main())
