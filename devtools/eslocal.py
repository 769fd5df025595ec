"""A local Elasticsearch node for tests and trials, from Maven Central; one per checkout.

The minimal distribution ``org.elasticsearch.distribution.integ-test-zip`` is
fetched once by Maven into its usual cache (``~/.m2``), unpacked once into
:func:`base_dir` (shared, read-only), and run with a JDK >= 21 found under
``/usr/lib/jvm``. It refuses to run as root, so as root the node runs as the
system user ``yuqing-es``. Production uses the full image (see docker-compose.yml),
same major version.

Each checkout has a node of its own: its data, configuration and logs under
``base_dir()/nodes/<checkout id>`` (outside the checkout, which the service user may
not be able to enter) and its URL, port and process in ``<checkout>/var/es-local.json``.
The port is 9200 when free, else one the system hands out, kept for the next start. So
two checkouts on one machine run their tests at once without sharing indices, and
stopping one checkout's node never touches another's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

ES_VERSION = "9.4.3"
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
SERVICE_USER = "yuqing-es"
DEFAULT_PORT = 9200
START_TIMEOUT = 180.0


class EsLocalError(RuntimeError):
    """The local node could not be fetched, started or stopped (the message says why)."""


@dataclass
class Node:
    url: str
    pid: int
    home: Path


def base_dir() -> Path:
    """Where the node lives: ``$YUQING_ES_HOME``, else a folder every user can reach
    (as root: /var/lib/yuqing/es-local, since a clone under /root is not readable by
    the service user), else ``~/.cache/yuqing/es-local``."""
    if env := os.environ.get("YUQING_ES_HOME"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/yuqing/es-local")
    return Path.home() / ".cache" / "yuqing" / "es-local"


def find_java() -> Path:
    """``$ES_JAVA_HOME``, else the newest JDK >= 21 under /usr/lib/jvm."""
    if env := os.environ.get("ES_JAVA_HOME"):
        return Path(env)
    found: list[tuple[int, Path]] = []
    for home in Path("/usr/lib/jvm").glob("*"):
        release = home / "release"
        if home.is_symlink() or not release.is_file():
            continue
        for line in release.read_text(errors="replace").splitlines():
            if line.startswith("JAVA_VERSION="):
                major = line.split("=", 1)[1].strip('"').split(".")[0]
                if major.isdigit() and int(major) >= 21:
                    found.append((int(major), home))
    if not found:
        raise EsLocalError(
            "Elasticsearch 9 needs Java 21 or newer: none found under /usr/lib/jvm; "
            "install one or set ES_JAVA_HOME"
        )
    return max(found)[1]


def fetch_zip() -> Path:
    """The distribution zip, downloaded by Maven on first use and reused after."""
    repo = Path.home() / ".m2" / "repository"
    path = (
        repo
        / "org/elasticsearch/distribution/integ-test-zip/elasticsearch"
        / ES_VERSION
        / f"elasticsearch-{ES_VERSION}.zip"
    )
    if path.is_file():
        return path
    mvn = shutil.which("mvn")
    if mvn is None:
        raise EsLocalError("Maven (mvn) is needed to fetch Elasticsearch from Maven Central")
    print(f"fetching Elasticsearch {ES_VERSION} from Maven Central (once) ...", flush=True)
    proc = subprocess.run(
        [mvn, "-q", "-B", "dependency:get", f"-Dartifact={ARTIFACT}", "-Dtransitive=false"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not path.is_file():
        raise EsLocalError(f"mvn could not fetch {ARTIFACT}:\n{proc.stdout[-2000:]}")
    return path


def _unpack(base: Path) -> Path:
    home = base / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").is_file():
        return home
    partial = base / f".unpack-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(fetch_zip()) as zf:
        zf.extractall(partial)
    for script in (partial / f"elasticsearch-{ES_VERSION}" / "bin").iterdir():
        script.chmod(0o755)
    (partial / f"elasticsearch-{ES_VERSION}").rename(home)
    shutil.rmtree(partial, ignore_errors=True)
    return home


def _service_user() -> pwd.struct_passwd | None:
    """The unprivileged account the node runs as when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for root, dirs, files in os.walk(path):
        for name in [
            root,
            *(os.path.join(root, d) for d in dirs),
            *(os.path.join(root, f) for f in files),
        ]:
            os.lchown(name, user.pw_uid, user.pw_gid)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=2) as r:
            return r.headers.get("X-Elastic-Product") == "Elasticsearch"
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def checkout_dir() -> Path:
    """The checkout this module runs from (where ``pyproject.toml`` is), else the
    working directory."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def state_file(checkout: Path | None = None) -> Path:
    return (checkout or checkout_dir()) / "var" / "es-local.json"


def node_dir(checkout: Path | None = None) -> Path:
    """Data, configuration and logs of the checkout's node."""
    key = hashlib.sha1(str((checkout or checkout_dir()).resolve()).encode()).hexdigest()[:12]
    return base_dir() / "nodes" / key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _saved(checkout: Path | None) -> dict[str, object]:
    try:
        data = json.loads(state_file(checkout).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def status(checkout: Path | None = None) -> Node | None:
    """The checkout's running node, or None."""
    data = _saved(checkout)
    url, pid, home = data.get("url"), data.get("pid"), data.get("home")
    if not (isinstance(url, str) and isinstance(pid, int) and isinstance(home, str)):
        return None
    return Node(url, pid, Path(home)) if _alive(pid) and _healthy(url) else None


def _process(checkout: Path | None) -> int | None:
    """The pid of the checkout's node process if it is alive, healthy or not: a node of
    a cluster that lost its master answers no health request, and must still be ended."""
    pid = _saved(checkout).get("pid")
    if not (isinstance(pid, int) and _alive(pid)):
        return None
    try:  # a pid the system gave to another program since is not ours to end
        if b"elasticsearch" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return None
    except OSError:
        return None
    return pid


def _pick_port(checkout: Path | None) -> int:
    """The port the checkout used last, else 9200, else any free one: whichever is free."""
    last = _saved(checkout).get("port")
    for port in (last, DEFAULT_PORT):
        if isinstance(port, int) and _port_free(port):
            return port
    return _free_port()


@dataclass(frozen=True)
class Membership:
    """A node's place in a local cluster of several nodes (tests of node loss): each
    node is a "checkout" of its own, all with one cluster name and known ports."""

    cluster: str
    name: str
    transport_port: int
    seeds: list[str]  # host:transport_port of every node
    masters: list[str]  # node names that elect the first master


def start(
    port: int | None = None,
    checkout: Path | None = None,
    heap: str = "512m",
    member: Membership | None = None,
) -> Node:
    """Start the checkout's node (or return it if it runs) and wait until it answers.
    Processes of one checkout starting it at once (test workers) start it once. With
    ``member`` the node joins a cluster of several instead of running alone."""
    lock_path = state_file(checkout).with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _start(port, checkout, heap, member)


def _start(port: int | None, checkout: Path | None, heap: str, member: Membership | None) -> Node:
    if running := status(checkout):
        return running
    if port is None:
        port = _pick_port(checkout)
    elif not _port_free(port):
        raise EsLocalError(
            f"port {port} on 127.0.0.1 is taken by another program: pick one with --port"
        )
    base = base_dir()
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    home = _unpack(base)
    node = node_dir(checkout)
    conf, data, logs = node / "config", node / "data", node / "logs"
    for d in (conf, data, logs):
        d.mkdir(parents=True, exist_ok=True)
    for name in ("jvm.options", "log4j2.properties"):
        shutil.copy(home / "config" / name, conf / name)
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    (conf / "elasticsearch.yml").write_text(
        "\n".join(
            [
                *_discovery(node.name, member),
                "network.host: 127.0.0.1",
                f"http.port: {port}",
                "xpack.security.enabled: false",
                f"path.data: {data}",
                f"path.logs: {logs}",
                # A laptop or CI disk that is 90% full must not turn indices read-only.
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "",
            ]
        )
    )
    user = _service_user()
    if user is not None:
        _chown_tree(node, user)
    env = {
        **os.environ,
        "ES_JAVA_HOME": str(find_java()),
        "ES_PATH_CONF": str(conf),
        "ES_JAVA_OPTS": os.environ.get("ES_JAVA_OPTS", f"-Xms{heap} -Xmx{heap}"),
    }
    cmd = [str(home / "bin" / "elasticsearch")]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", *cmd]
        env["HOME"] = str(node)
    console = open(logs / "console.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=node,
    )
    console.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (logs / "console.log").read_text(errors="replace")[-3000:]
            raise EsLocalError(f"Elasticsearch exited with code {proc.returncode}:\n{tail}")
        if _healthy(url):
            state = state_file(checkout)
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(
                json.dumps(
                    {
                        "url": url,
                        "port": port,
                        "pid": proc.pid,
                        "home": str(home),
                        "node": str(node),
                    }
                )
            )
            return Node(url, proc.pid, home)
        time.sleep(1)
    _kill_group(proc.pid)  # the JVM too, not only the launcher
    raise EsLocalError(f"Elasticsearch did not answer on {url} within {START_TIMEOUT:.0f} s")


def _discovery(node: str, member: Membership | None) -> list[str]:
    if member is None:
        return [
            f"cluster.name: yuqing-local-{node}",
            "discovery.type: single-node",
            # The transport port of another checkout's node must not be taken for granted.
            "transport.port: 0",
        ]
    return [
        f"cluster.name: {member.cluster}",
        f"node.name: {member.name}",
        f"transport.port: {member.transport_port}",
        f"discovery.seed_hosts: [{', '.join(member.seeds)}]",
        f"cluster.initial_master_nodes: [{', '.join(member.masters)}]",
    ]


def kill(checkout: Path) -> None:
    """End the checkout's node at once with all its processes (SIGKILL: as if its machine
    died); its data stays for a restart."""
    pid = _process(checkout)
    if pid is None:
        return
    _kill_group(pid)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the launcher and the server JVM it started
    while True:
        with contextlib.suppress(ChildProcessError):  # reap it if this process started it
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            return
        time.sleep(0.05)


def stop(checkout: Path | None = None) -> bool:
    """Stop the checkout's node (no other); True if one was running."""
    pid = _process(checkout)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(60):
        if not _alive(pid):
            return True
        time.sleep(0.5)
    _kill_group(pid)
    return True
