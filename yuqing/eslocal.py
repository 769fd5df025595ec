"""A local Elasticsearch node for tests and trials, from Maven Central.

The minimal distribution ``org.elasticsearch.distribution.integ-test-zip`` is
fetched once by Maven into its usual cache (``~/.m2``), unpacked beside the
node's data, and run with a JDK >= 21 found under ``/usr/lib/jvm``. It refuses
to run as root, so as root the node runs as the system user ``yuqing-es``.
Production uses the full image (see docker-compose.yml), same major version.
"""

from __future__ import annotations

import contextlib
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


def status(base: Path | None = None) -> Node | None:
    """The running node started from ``base``, or None."""
    base = base or base_dir()
    state = base / "state.json"
    if not state.is_file():
        return None
    data = json.loads(state.read_text())
    if _alive(data["pid"]) and _healthy(data["url"]):
        return Node(data["url"], data["pid"], Path(data["home"]))
    return None


@dataclass(frozen=True)
class Membership:
    """A node's place in a local cluster of several nodes (tests of node loss)."""

    name: str
    transport_port: int
    seeds: list[str]  # host:transport_port of every node
    masters: list[str]  # node names that elect the first master


def start(
    port: int = DEFAULT_PORT,
    base: Path | None = None,
    heap: str = "512m",
    member: Membership | None = None,
) -> Node:
    """Start the node (or return the one already running) and wait until it answers.
    With ``member`` it joins a cluster of several nodes instead of running alone."""
    base = base or base_dir()
    if running := status(base):
        return running
    if not _port_free(port):
        raise EsLocalError(
            f"port {port} on 127.0.0.1 is taken by another program: pick one with --port"
        )
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    home = _unpack(base)
    conf, data, logs = base / "config", base / "data", base / "logs"
    for d in (conf, data, logs):
        d.mkdir(exist_ok=True)
    for name in ("jvm.options", "log4j2.properties"):
        shutil.copy(home / "config" / name, conf / name)
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    (conf / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "cluster.name: yuqing-local",
                *_discovery(member),
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
        _chown_tree(base, user)
    env = {
        **os.environ,
        "ES_JAVA_HOME": str(find_java()),
        "ES_PATH_CONF": str(conf),
        "ES_JAVA_OPTS": os.environ.get("ES_JAVA_OPTS", f"-Xms{heap} -Xmx{heap}"),
    }
    cmd = [str(home / "bin" / "elasticsearch")]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", *cmd]
        env["HOME"] = str(base)
    console = open(logs / "console.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=base,
    )
    console.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (logs / "console.log").read_text(errors="replace")[-3000:]
            raise EsLocalError(f"Elasticsearch exited with code {proc.returncode}:\n{tail}")
        if _healthy(url):
            (base / "state.json").write_text(
                json.dumps({"url": url, "pid": proc.pid, "home": str(home)})
            )
            return Node(url, proc.pid, home)
        time.sleep(1)
    proc.kill()
    raise EsLocalError(f"Elasticsearch did not answer on {url} within {START_TIMEOUT:.0f} s")


def _discovery(member: Membership | None) -> list[str]:
    if member is None:
        return ["discovery.type: single-node"]
    return [
        f"node.name: {member.name}",
        f"transport.port: {member.transport_port}",
        f"discovery.seed_hosts: [{', '.join(member.seeds)}]",
        f"cluster.initial_master_nodes: [{', '.join(member.masters)}]",
    ]


def kill(base: Path) -> None:
    """End the node at once with all its processes (SIGKILL: as if its machine died)."""
    node = status(base)
    if node is None:
        return
    os.killpg(node.pid, signal.SIGKILL)  # the launcher and the server JVM it started
    while True:
        with contextlib.suppress(ChildProcessError):  # reap it if this process started it
            os.waitpid(node.pid, os.WNOHANG)
        if not _alive(node.pid):
            return
        time.sleep(0.05)


def stop(base: Path | None = None) -> bool:
    """Stop the node; True if one was running."""
    base = base or base_dir()
    node = status(base)
    (base / "state.json").unlink(missing_ok=True)
    if node is None:
        return False
    os.kill(node.pid, signal.SIGTERM)
    for _ in range(60):
        if not _alive(node.pid):
            return True
        time.sleep(0.5)
    os.kill(node.pid, signal.SIGKILL)
    return True
