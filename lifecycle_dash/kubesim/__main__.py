from __future__ import annotations

import sys

from lifecycle_dash.kubesim.cli import main

sys.exit(main())
