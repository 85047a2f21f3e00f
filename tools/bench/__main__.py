"""``python -m tools.bench``: run the benchmark (see tools.bench.runner)."""

import sys

from tools.bench import runner

sys.exit(runner.main())
