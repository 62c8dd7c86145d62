"""`python -m remote_backend.cli` = `pphook`."""

import sys

from remote_backend.cli import main

sys.exit(main())
