#!/usr/bin/env python
"""Make sure the scale-out tests have HAProxy (called by ``make test``).

``tests/realtime/test_scale_out_live.py`` runs several gateway processes behind a real HAProxy,
Debian's ``haproxy`` package. Installed with apt-get as root on Debian (as CI runs); otherwise the
tests skip and say how to install it. ``SKIP_HAPROXY_INSTALL=1`` turns the install off.
"""

import sys

from debian_packages import ensure

if __name__ == "__main__":
    ensure(program="haproxy", package="haproxy", purpose="the scale-out tests", skip_env="SKIP_HAPROXY_INSTALL")
    sys.exit(0)
