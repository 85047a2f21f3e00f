"""Which host names mean "this machine": noauth binding and the CLI's local-token shortcut."""

import ipaddress


def is_loopback(host):
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
