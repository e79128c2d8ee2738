"""Entry script of the frozen build: ``convexplorer.app.main`` behind ``multiprocessing.freeze_support``."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A frozen executable re-runs itself for multiprocessing children (Keras data loaders with
    # workers, pyqtgraph's helpers); freeze_support lets such a child run its task, not the app.
    multiprocessing.freeze_support()
    from convexplorer.app import main

    sys.exit(main())
