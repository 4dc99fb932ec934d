#!/usr/bin/env python
"""Make sure the browser tests have a Chromium (called by ``make test``).

The console's browser tests drive Debian's ``chromium`` through Playwright (never Playwright's
own downloads). When no ``chromium`` is on PATH (and ``CONSOLE_BROWSER`` names none) and this runs
as root on a Debian/Ubuntu machine, it installs the package with ``apt-get`` (as CI does, as
root). Otherwise it prints how to install it; the browser tests then skip with that reason.
Never fails the build itself. ``SKIP_BROWSER_INSTALL=1`` turns the install off.
"""

import os
import sys

from debian_packages import ensure


def main() -> int:
    configured = os.environ.get("CONSOLE_BROWSER")
    if configured and os.path.exists(configured):
        return 0
    ensure(program="chromium", package="chromium", purpose="the browser tests", skip_env="SKIP_BROWSER_INSTALL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
