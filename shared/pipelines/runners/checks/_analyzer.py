"""The check job's entry script (``python _analyzer.py model-monitor|clarify``); see analyzer.py.

A script, not ``-m``, so a warm interpreter can start the job like any other Python job. Its own
folder is taken off ``sys.path`` first: the modules beside it are imported by their full names.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != _HERE]

from pipelines.runners.checks.analyzer import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
