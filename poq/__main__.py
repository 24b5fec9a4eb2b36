"""``python -m poq``: the same as the ``poq`` command."""

import sys

from poq.main import main

sys.exit(main())
