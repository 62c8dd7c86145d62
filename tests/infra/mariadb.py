"""A throwaway MariaDB server holding the phpIPAM schema.

Own datadir, socket and port in a temporary directory; never the system server. The
server is tuned for tests (small buffer pool, no binlog, relaxed flushing): durability
does not matter, start time does.

Accounts:
- ``pphook_ro``: SELECT on ``phpipam.*`` only, what pphook is given in production.
- ``pphook_admin``: everything, for tests to write phpIPAM rows as phpIPAM would.
- ``root``@localhost over the socket, no password, used only to bootstrap.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql
import pymysql.connections
from pymysql.constants import CLIENT

from .ports import free_port
from .procs import (
    ServerLifecycle,
    ServerStartError,
    keep_files_default,
    log_tail,
    require_binary,
    run_tool,
    spawn,
    stop_process,
    wait_until,
)

SCHEMA_SQL = Path(__file__).resolve().parent.parent / "sql" / "phpipam-mariadb.sql"
PACKAGES = "mariadb-server"
DATABASE = "phpipam"
RO_USER = "pphook_ro"
ADMIN_USER = "pphook_admin"

# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


class MariaDBServer(ServerLifecycle):
    """One mariadbd on 127.0.0.1:<free port> with the phpIPAM tables loaded.

    ``start()`` creates everything; ``stop_server()``/``start_server()`` simulate an
    outage and keep the data; ``stop()`` ends the server and removes its directory.
    """

    def __init__(
        self,
        *,
        schema: Path = SCHEMA_SQL,
        ro_password: str = "pphook-ro-secret",
        admin_password: str = "pphook-admin-secret",
        keep_files: bool | None = None,
    ) -> None:
        self.schema = schema
        self.ro_password = ro_password
        self.admin_password = admin_password
        self.keep_files = keep_files_default() if keep_files is None else keep_files
        self.mariadbd = require_binary("mariadbd", PACKAGES)
        self.install_db = require_binary("mariadb-install-db", PACKAGES)
        self.base_dir: Path | None = None
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0  # install + first start + schema, for reports

    # -- paths -------------------------------------------------------------------

    def _dir(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("MariaDBServer not started")
        return self.base_dir

    @property
    def datadir(self) -> Path:
        return self._dir() / "data"

    @property
    def socket(self) -> Path:
        return self._dir() / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self._dir() / "mysqld.pid"

    @property
    def log_path(self) -> Path:
        return self._dir() / "mariadbd.log"

    def logs(self) -> str:
        """The server's log so far (for assertion messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- URLs and connections ---------------------------------------------------

    def url(self) -> str:
        """SQLAlchemy URL of the read-only account, the one pphook is given."""
        return f"mysql+pymysql://{RO_USER}:{self.ro_password}@127.0.0.1:{self.port}/{DATABASE}"

    def admin_url(self) -> str:
        """SQLAlchemy URL of the account tests write phpIPAM rows with."""
        return (
            f"mysql+pymysql://{ADMIN_USER}:{self.admin_password}@127.0.0.1:{self.port}/{DATABASE}"
        )

    def create_database(self, name: str) -> str:
        """Create an empty database (e.g. a shared pphook state store); its admin URL."""
        conn = self.connect_admin(database=None)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
        finally:
            conn.close()
        return f"mysql+pymysql://{ADMIN_USER}:{self.admin_password}@127.0.0.1:{self.port}/{name}"

    def connect_admin(self, **kwargs: object) -> pymysql.connections.Connection:
        """An autocommit pymysql connection as the admin account, over TCP."""
        return self._connect(ADMIN_USER, self.admin_password, **kwargs)

    def connect_ro(self, **kwargs: object) -> pymysql.connections.Connection:
        """A pymysql connection as the read-only account, over TCP."""
        return self._connect(RO_USER, self.ro_password, **kwargs)

    def _connect(
        self, user: str, password: str, **kwargs: object
    ) -> pymysql.connections.Connection:
        params: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": user,
            "password": password,
            "database": DATABASE,
            "charset": "utf8mb4",
            "autocommit": True,
            "connect_timeout": 5,
        }
        params.update(kwargs)
        return pymysql.connect(**params)

    def _connect_root(self, **kwargs: object) -> pymysql.connections.Connection:
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            password="",
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=2,
            **kwargs,
        )

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> MariaDBServer:
        """Create a datadir, start the server, load the schema, create the accounts."""
        if self.base_dir is not None:
            raise RuntimeError("MariaDBServer already started")
        t0 = time.monotonic()
        self.base_dir = Path(tempfile.mkdtemp(prefix="pphook-mariadb-"))
        if len(str(self.socket)) > _MAX_SOCKET_PATH:
            shutil.rmtree(self.base_dir)
            self.base_dir = Path(tempfile.mkdtemp(prefix="pphook-mariadb-", dir="/tmp"))
        self.port = free_port()
        atexit.register(self.stop)
        try:
            self._install()
            self.start_server()
            self._bootstrap()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as another user it just
        # runs as that user and needs no option.
        return ["--user=root"] if os.geteuid() == 0 else []

    def _server_args(self) -> list[str]:
        """Options shared by install-db (it runs mariadbd --bootstrap) and the server."""
        return [
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
            "--skip-log-bin",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ]

    def _install(self) -> None:
        result = run_tool(
            [
                self.install_db,
                "--no-defaults",  # must come first: ignore /etc/mysql and ~/.my.cnf
                "--auth-root-authentication-method=normal",
                f"--datadir={self.datadir}",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._user_args(),
                *self._server_args(),
            ],
            timeout=120,
        )
        (self._dir() / "install-db.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise ServerStartError(
                f"mariadb-install-db failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    def start_server(self) -> None:
        """Start mariadbd on the existing datadir and port; wait until it accepts logins."""
        if self.running:
            return
        self.proc = spawn(
            [
                self.mariadbd,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--pid-file={self.pid_file}",
                f"--tmpdir={self._dir()}",
                *self._user_args(),
                *self._server_args(),
            ],
            self.log_path,
        )
        wait_until(
            self._accepts_logins,
            proc=self.proc,
            what="mariadbd",
            log_path=self.log_path,
            timeout=60,
        )

    def _accepts_logins(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            self._connect_root().close()
        except pymysql.err.OperationalError:
            return False
        return True

    def stop_server(self) -> None:
        """Stop mariadbd by PID (SIGTERM, then SIGKILL) and keep the datadir."""
        stop_process(self.proc, timeout=30)
        self.proc = None

    def stop(self) -> None:
        """Stop the server and delete its directory (unless ``keep_files``)."""
        atexit.unregister(self.stop)
        self.stop_server()
        if self.base_dir is not None and not self.keep_files:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def _bootstrap(self) -> None:
        conn = self._connect_root(client_flag=CLIENT.MULTI_STATEMENTS)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
                cur.execute(f"USE `{DATABASE}`")
                cur.execute(self.schema.read_text(encoding="utf-8"))
                while cur.nextset():  # surfaces an error in any later statement
                    pass
                # localhost = the unix socket, 127.0.0.1 = TCP (with skip-name-resolve)
                for host in ("127.0.0.1", "localhost"):
                    cur.execute(
                        f"CREATE USER '{RO_USER}'@'{host}' IDENTIFIED BY %s", (self.ro_password,)
                    )
                    # pphook never writes to phpIPAM: SELECT is all it gets.
                    cur.execute(f"GRANT SELECT ON `{DATABASE}`.* TO '{RO_USER}'@'{host}'")
                    cur.execute(
                        f"CREATE USER '{ADMIN_USER}'@'{host}' IDENTIFIED BY %s",
                        (self.admin_password,),
                    )
                    cur.execute(
                        f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'{host}' WITH GRANT OPTION"
                    )
        finally:
            conn.close()

    def __enter__(self) -> MariaDBServer:
        return self.start() if self.base_dir is None else self

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines) if self.base_dir is not None else ""
