"""``python -m shardsafe.ops.packaging ...`` is ``shardsafe package ...`` (kept for scripts that call it)."""

from __future__ import annotations

import sys

from shardsafe.ops.cli import main

if __name__ == "__main__":
    sys.exit(main(["package", *sys.argv[1:]]))
