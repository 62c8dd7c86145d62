"""Real servers for pphook's tests: MariaDB, pdns_server and BIND, on 127.0.0.1.

Every server is started by the test suite itself in its own temporary directory, on
free ports, and stopped by PID. Nothing here touches a system-wide service or
configuration. A missing binary is an error naming the Debian package to install,
never a silent skip.
"""
