"""systemd/chloe.service is hardened as documented, and systemd's own tools accept it.

The directive checks need nothing but Python. The rest runs systemd's offline tools
(`systemd-analyze verify` and `security --offline=true`, `systemd-sysusers`, `systemd-tmpfiles`;
Debian package `systemd`, plus `procps` for the unit's /bin/kill) and skips with the reason when
they are missing, unless CHLOE_REQUIRE_SYSTEMD_TOOLS=1 (set it in CI) turns a skip into a failure.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.notify_receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
SYSTEMD_DIR = REPO / "systemd"
UNIT = SYSTEMD_DIR / "chloe.service"
REPLAY_DROP_IN = SYSTEMD_DIR / "replay-offline.conf"
EXEC_START = "/opt/chloe/venv/bin/chloe run"
MAX_EXPOSURE = 2.0

Unit = dict[str, dict[str, list[str]]]


def parse_unit(text: str) -> Unit:
    """Sections -> directive -> every value assigned, in order (an empty one resets in systemd)."""
    unit: Unit = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a directive: {raw!r}"
        unit[section][key.strip()].append(value.strip())
    return unit


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse_unit(UNIT.read_text())["Service"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not installed (Debian package 'systemd')"
        if os.environ.get("CHLOE_REQUIRE_SYSTEMD_TOOLS") == "1":
            pytest.fail(f"{reason}, and CHLOE_REQUIRE_SYSTEMD_TOOLS=1")
        pytest.skip(reason)
    return path


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecStart", EXEC_START),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("KillSignal", "SIGTERM"),
        ("WatchdogSec", "30"),
        ("Restart", "on-failure"),
        ("RestartPreventExitStatus", "2 3 4"),
        ("User", "chloe"),
        ("Group", "chloe"),
        ("WorkingDirectory", "/var/lib/chloe"),
        ("StateDirectory", "chloe/reports"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/chloe/reports"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("PrivateUsers", "yes"),
        ("ProtectHome", "yes"),
        ("ProtectProc", "invisible"),
        ("ProcSubset", "pid"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("SystemCallArchitectures", "native"),
        ("SystemCallErrorNumber", "EPERM"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("MemoryDenyWriteExecute", "yes"),
        ("UMask", "0027"),
        ("MemoryMax", "512M"),
    ],
)
def test_the_unit_sets(service: dict[str, list[str]], key: str, value: str) -> None:
    assert service[key] == [value]


def test_the_system_call_filter_allows_system_service_and_removes_privileged_and_resources(
    service: dict[str, list[str]],
) -> None:
    assert service["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]


def test_the_environment_is_unbuffered_and_names_the_config_and_reports_dirs(
    service: dict[str, list[str]],
) -> None:
    env = dict(item.split("=", 1) for item in service["Environment"])
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["CHLOE_CONFIG_DIR"] == "/etc/chloe"
    assert env["CHLOE_REPORTS_DIR"] == "/var/lib/chloe/reports"


def test_every_yes_no_hardening_switch_is_on(service: dict[str, list[str]]) -> None:
    switches = [
        "PrivateMounts", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
        "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictNamespaces",
        "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "RemoveIPC",
    ]  # fmt: skip
    assert {key: service[key] for key in switches} == {key: ["yes"] for key in switches}
    assert service["KeyringMode"] == ["private"]
    assert service["DevicePolicy"] == ["closed"]


def test_the_replay_drop_in_cuts_the_network_and_resets_the_address_families() -> None:
    drop_in = parse_unit(REPLAY_DROP_IN.read_text())["Service"]
    assert drop_in["ExecStart"] == ["", f"{EXEC_START} --replay"]
    assert drop_in["PrivateNetwork"] == ["yes"]
    assert drop_in["IPAddressDeny"] == ["any"]
    assert drop_in["RestrictAddressFamilies"] == ["", "AF_UNIX"]


def _install_for_analysis(tmp_path: Path, *, replay_drop_in: bool = False) -> Path:
    """The unit in tmp_path, ExecStart pointed at a stub: verify insists the binary exists."""
    tmp_path.mkdir(exist_ok=True)
    stub = tmp_path / "chloe"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    unit = tmp_path / "chloe.service"
    binary = EXEC_START.split(maxsplit=1)[0]
    unit.write_text(UNIT.read_text().replace(f"ExecStart={binary}", f"ExecStart={stub}"))
    if replay_drop_in:
        drop_in_dir = tmp_path / "chloe.service.d"
        drop_in_dir.mkdir()
        text = REPLAY_DROP_IN.read_text()
        (drop_in_dir / REPLAY_DROP_IN.name).write_text(text.replace(binary, str(stub)))
    return unit


def _exposure(unit: Path) -> float:
    done = _run(_tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(unit))
    assert done.returncode == 0, done.stderr
    found = re.search(r"Overall exposure level for chloe\.service: (\d+(?:\.\d+)?)", done.stdout)
    assert found is not None, done.stdout
    return float(found.group(1))


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    done = _run(_tool("systemd-analyze"), "verify", str(_install_for_analysis(tmp_path)))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_security_exposure_is_at_most_2(tmp_path: Path) -> None:
    assert _exposure(_install_for_analysis(tmp_path)) <= MAX_EXPOSURE


def test_the_replay_drop_in_verifies_and_lowers_the_exposure(tmp_path: Path) -> None:
    plain = _exposure(_install_for_analysis(tmp_path / "plain"))
    unit = _install_for_analysis(tmp_path / "replay", replay_drop_in=True)
    done = _run(_tool("systemd-analyze"), "verify", str(unit))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    assert _exposure(unit) < plain


def test_sysusers_creates_the_chloe_user_and_tmpfiles_the_directories(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    sysusers = SYSTEMD_DIR / "chloe.sysusers"
    done = _run(_tool("systemd-sysusers"), f"--root={tmp_path}", str(sysusers))
    assert done.returncode == 0, done.stderr
    passwd = (tmp_path / "etc/passwd").read_text()
    assert re.search(r"^chloe:x:\d+:\d+:[^:]*:/var/lib/chloe:/usr/sbin/nologin$", passwd, re.M)
    tmpfiles = SYSTEMD_DIR / "chloe.tmpfiles"
    done = _run(_tool("systemd-tmpfiles"), f"--root={tmp_path}", "--create", str(tmpfiles))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "etc/chloe").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "var/lib/chloe").stat().st_mode & 0o777 == 0o755
    assert os.readlink(tmp_path / "var/lib/chloe/config") == "/etc/chloe"


_SANDBOX = r"""
import ctypes, os, runpy, sys
allow_file, libseccomp, script, *args = sys.argv[1:]
os.umask(0o027)  # UMask=0027
libc = ctypes.CDLL(None, use_errno=True)
# MemoryDenyWriteExecute=yes, as the kernel's own MDWE (Linux >= 6.3): no W+X, no exec gain.
mdwe = libc.prctl(65, 1, 0, 0, 0) == 0  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
os.environ["SANDBOX_MDWE"] = "1" if mdwe else "0"
seccomp = ctypes.CDLL(libseccomp)
seccomp.seccomp_init.restype = ctypes.c_void_p
seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
seccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
seccomp.seccomp_load.argtypes = [ctypes.c_void_p]
seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
ctx = seccomp.seccomp_init(0x00050000 | 1)  # default SCMP_ACT_ERRNO(EPERM): SystemCallErrorNumber
for name in open(allow_file).read().split():
    nr = seccomp.seccomp_syscall_resolve_name(name.encode())
    if nr >= 0:
        seccomp.seccomp_rule_add(ctx, 0x7FFF0000, nr, 0)  # SCMP_ACT_ALLOW
assert seccomp.seccomp_load(ctx) == 0, "seccomp_load failed"
sys.argv = [script, *args]
runpy.run_path(script, run_name="__main__")
"""

_WORKLOAD = r"""
import asyncio, ctypes, importlib, json, mmap, os, pkgutil, signal, socket, ssl, sys, tempfile
out = sys.argv[1]
result = {"imports": {}, "checks": {}, "probes": {}, "mdwe": os.environ.get("SANDBOX_MDWE")}

def attempt(table, name, fn):
    try:
        fn()
        table[name] = "ok"
    except BaseException as exc:
        table[name] = f"{type(exc).__name__}: {exc}"

modules = ["numpy", "ccxt", "ccxt.async_support", "pydantic", "structlog", "orjson", "tenacity",
           "rich", "aiohttp", "engine_alpha"]
import engine_alpha
modules += [m.name for m in pkgutil.walk_packages(engine_alpha.__path__, "engine_alpha.")
            if not m.name.endswith("__main__")]
for name in modules:
    attempt(result["imports"], name, lambda: importlib.import_module(name))

def blas():
    import numpy as np
    assert abs(np.linalg.det(np.linalg.inv(np.eye(64) * 2.0)) - 2.0 ** -64) < 1e-12

def ffi_callback():
    assert ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)(1) == 2

work = tempfile.mkdtemp()

def journal_writes():
    path = os.path.join(work, "trades.jsonl")
    with open(path, "ab") as f:
        f.write(b"{}\n"); f.flush(); os.fsync(f.fileno())
    with open(path + ".tmp", "wb") as f:
        f.write(b"{}"); f.flush(); os.fsync(f.fileno())
    os.replace(path + ".tmp", os.path.join(work, "pf_local.json"))
    fd = os.open(work, os.O_RDONLY); os.fsync(fd); os.close(fd)

def notify():
    from engine_alpha.daemon.sd_notify import SdNotifier
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(os.path.join(work, "notify")); sock.settimeout(2)
        assert SdNotifier({"NOTIFY_SOCKET": os.path.join(work, "notify")}).reloading()
        assert sock.recv(100).startswith(b"RELOADING=1\nMONOTONIC_USEC=")

async def event_loop():
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    await loop.getaddrinfo("localhost", 80)  # in the default executor's thread
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    writer.close(); server.close(); await server.wait_closed()
    await asyncio.sleep(0.01)
    loop.remove_signal_handler(signal.SIGHUP)

for name, fn in [("blas", blas), ("ffi_callback", ffi_callback), ("journal_writes", journal_writes),
                 ("notify", notify), ("ssl_context", ssl.create_default_context),
                 ("event_loop", lambda: asyncio.run(event_loop()))]:
    attempt(result["checks"], name, fn)
attempt(result["probes"], "wx_mapping", lambda: mmap.mmap(-1, 4096, prot=7))  # R|W|X
attempt(result["probes"], "sched_setaffinity",  # in @resources, which the unit removes
        lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))
with open(out, "w") as f:
    json.dump(result, f)
"""


def _filter_groups(analyze: str) -> dict[str, list[str]]:
    """Every @group `systemd-analyze syscall-filter` knows, with its items (names or @groups)."""
    done = _run(analyze, "syscall-filter", "--no-pager")
    assert done.returncode == 0, done.stderr
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.startswith(" ") and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def _expand(item: str, groups: dict[str, list[str]]) -> set[str]:
    if not item.startswith("@"):
        return {item}
    return set().union(*(_expand(sub, groups) for sub in groups[item]))


def unit_syscall_allow_list(filters: list[str], groups: dict[str, list[str]]) -> set[str]:
    """The allow list a SystemCallFilter= sequence that opens with an allow list amounts to."""
    assert not filters[0].startswith("~"), "the unit's filter must be an allow list"
    allowed: set[str] = set()
    for entry in filters:
        deny = entry.startswith("~")
        names = set().union(*(_expand(i, groups) for i in entry.removeprefix("~").split()))
        allowed = allowed - names if deny else allowed | names
    return allowed


def _subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's engine_alpha, not another


def _run_workload(argv: list[str], out: Path) -> dict[str, Any]:
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=300, cwd=REPO,
        env=_subprocess_env(),
    )  # fmt: skip
    assert done.returncode == 0 and out.exists(), done.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.fixture
def sandbox(tmp_path: Path, service: dict[str, list[str]]) -> list[str]:
    """argv prefix running a script under the unit's syscall allow list, EPERM, MDWE, UMask.

    Not systemd itself (that needs systemd as PID 1), but the same kernel mechanisms: a seccomp
    allow list computed from the unit's SystemCallFilter= lines, failing with EPERM as
    SystemCallErrorNumber= says, and the kernel's MDWE for MemoryDenyWriteExecute=.
    """
    libseccomp = ctypes.util.find_library("seccomp")
    if libseccomp is None:
        if os.environ.get("CHLOE_REQUIRE_SYSTEMD_TOOLS") == "1":
            pytest.fail("libseccomp not installed (Debian package 'libseccomp2')")
        pytest.skip("libseccomp not installed (Debian package 'libseccomp2')")
    assert service["SystemCallErrorNumber"] == ["EPERM"]
    assert service["UMask"] == ["0027"]
    groups = _filter_groups(_tool("systemd-analyze"))
    allowed = unit_syscall_allow_list(service["SystemCallFilter"], groups)
    (tmp_path / "allow").write_text("\n".join(sorted(allowed)))
    (tmp_path / "sandbox.py").write_text(_SANDBOX)
    return [sys.executable, str(tmp_path / "sandbox.py"), str(tmp_path / "allow"), libseccomp]


def test_the_python_runtime_survives_the_units_syscall_filter_and_mdwe(
    tmp_path: Path, sandbox: list[str]
) -> None:
    """Imports, BLAS, libffi, fsync, rename, sockets and threads work inside the sandbox."""
    (tmp_path / "workload.py").write_text(_WORKLOAD)
    workload, out = str(tmp_path / "workload.py"), tmp_path / "out.json"
    baseline = _run_workload([sys.executable, workload, str(out)], out)
    out = tmp_path / "out-sandboxed.json"
    sandboxed = _run_workload([*sandbox, workload, str(out)], out)

    assert set(baseline["checks"].values()) == {"ok"}, baseline["checks"]
    both = baseline["imports"].keys() & sandboxed["imports"].keys()  # others add modules meanwhile
    assert {m: sandboxed["imports"][m] for m in both} == {m: baseline["imports"][m] for m in both}
    assert sandboxed["checks"] == baseline["checks"]
    assert baseline["probes"]["sched_setaffinity"] == "ok"
    assert sandboxed["probes"]["sched_setaffinity"].startswith("PermissionError"), "filter is live"
    if sandboxed["mdwe"] == "1":
        assert sandboxed["probes"]["wx_mapping"].startswith("PermissionError")
    else:
        print(f"kernel {platform.release()} lacks PR_SET_MDWE: MemoryDenyWriteExecute not checked")


_READ_ONLY_ROOT = """
set -e
mount --make-rprivate /
mount --bind "$REPORTS" "$REPORTS"
mount -o remount,bind,ro /
exec "$@"
"""


def _read_only_root_prefix() -> list[str]:
    """`unshare -m`, / read-only but reports/ (ProtectSystem=strict, ReadWritePaths=), if we can."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        return []
    prefix = [unshare, "-m", "sh", "-c", _READ_ONLY_ROOT, "sh"]
    probe = subprocess.run(
        [*prefix, "sh", "-c", "! touch /ro-probe 2>/dev/null"], capture_output=True, check=False,
        env={**os.environ, "REPORTS": str(REPO)}, timeout=30,
    )  # fmt: skip
    return prefix if probe.returncode == 0 else []


def _installed_layout(root: Path) -> dict[str, str]:
    """/etc/chloe, /var/lib/chloe/{config,data,reports} under root, as the install steps make."""
    (root / "etc/chloe").mkdir(parents=True)
    for config in (REPO / "config").glob("*.json"):
        shutil.copy(config, root / "etc/chloe" / config.name)
    state = root / "var/lib/chloe"
    (state / "reports").mkdir(parents=True)
    (state / "config").symlink_to(root / "etc/chloe")
    (state / "data").symlink_to(REPO / "data")
    return {
        "CHLOE_CONFIG_DIR": str(root / "etc/chloe"),
        "CHLOE_REPORTS_DIR": str(state / "reports"),
    }


def test_the_daemon_replays_the_sample_inside_the_units_sandbox(
    tmp_path: Path, sandbox: list[str], service: dict[str, list[str]]
) -> None:
    """`chloe run --replay` from the unit's working directory, as systemd would start it, with
    notifications on (apprise's child process runs under the same filter)."""
    dirs = _installed_layout(tmp_path / "root")
    unit_env = dict(item.split("=", 1) for item in service["Environment"])
    notify = tmp_path / "notify"
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener,
        Receiver() as receiver,
    ):
        listener.bind(str(notify))
        env = {
            **_subprocess_env(), **unit_env, **dirs, "REPORTS": dirs["CHLOE_REPORTS_DIR"],
            "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "30000000",
            "CHLOE_NOTIFY_URLS": receiver.url,
        }  # fmt: skip
        main = str(REPO / "engine_alpha/__main__.py")
        done = subprocess.run(
            [*_read_only_root_prefix(), *sandbox, main, "run", "--replay"],
            capture_output=True, text=True, check=False, timeout=300, env=env,
            cwd=tmp_path / "root/var/lib/chloe",
        )  # fmt: skip
        listener.setblocking(False)
        first_notification = listener.recv(4096).decode()
    assert done.returncode == 0, done.stderr[-3000:]
    assert first_notification.startswith("READY=1\nSTATUS=tasks=")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert not [r for r in records if r.get("level") in ("error", "critical")]
    # with the default settings the sample floods the queue: the stop message still goes
    assert receiver.by_event("Chloe started") and receiver.by_event("Chloe stopped")
    reports = Path(dirs["CHLOE_REPORTS_DIR"])
    assert (reports / "trades.jsonl").read_text().count("\n") > 0
    for path in reports.iterdir():  # only the owner writes (UMask=0027 or the daemon's own mode)
        assert path.stat().st_mode & 0o022 == 0, path


WEB_UNIT = SYSTEMD_DIR / "chloe-web.service"


def _install_web(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    stub = tmp_path / "chloe"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    unit = tmp_path / "chloe-web.service"
    unit.write_text(WEB_UNIT.read_text().replace("/opt/chloe/venv/bin/chloe", str(stub)))
    return unit


def test_the_web_unit_serves_loopback_read_only_with_the_daemons_hardening(
    service: dict[str, list[str]],
) -> None:
    web = parse_unit(WEB_UNIT.read_text())["Service"]
    assert web["ExecStart"] == ["/opt/chloe/venv/bin/chloe web --host 127.0.0.1 --port 8080"]
    assert "ReadWritePaths" not in web and "StateDirectory" not in web
    assert web["ProtectSystem"] == ["strict"]
    assert web["IPAddressDeny"] == ["any"] and web["IPAddressAllow"] == ["localhost"]
    for key in ("NoNewPrivileges", "CapabilityBoundingSet", "PrivateUsers", "SystemCallFilter",
                "ProtectKernelTunables", "MemoryDenyWriteExecute", "RestrictNamespaces",
                "User", "Environment"):  # fmt: skip
        assert web[key] == service[key] or key == "Environment", key
    assert "Environment" in web and "CHLOE_REPORTS_DIR=/var/lib/chloe/reports" in web["Environment"]


def test_the_web_unit_verifies_and_its_exposure_is_at_most_2(tmp_path: Path) -> None:
    unit = _install_web(tmp_path)
    done = _run(_tool("systemd-analyze"), "verify", str(unit))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    done = _run(_tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(unit))
    assert done.returncode == 0, done.stderr
    found = re.search(
        r"Overall exposure level for chloe-web\.service: (\d+(?:\.\d+)?)", done.stdout
    )
    assert found is not None, done.stdout
    assert float(found.group(1)) <= MAX_EXPOSURE
