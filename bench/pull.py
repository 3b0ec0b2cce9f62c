"""Pull benchmark: bankgate's SFTP pull against OpenSSH's ``sftp``, from the same sshd, one run.

    ./dev bench pull [--size-mb 1024] [--small 5000] [--rounds 2] [--slow-rounds N] [--rtt-ms 20]
                     [--only NAMES] [--extra NAME=module:function]

Starts the tests' real OpenSSH sshd (chrooted internal-sftp user, loopback), writes one large
file (``--size-mb``, random bytes) and ``--small`` small files (1-32 KiB), then, round after round
so machine noise hits every contender alike, each contender in its own child process:

- ``sftp``: OpenSSH's ``sftp -b`` batch ``get`` with its defaults (chacha20-poly1305 here);
- ``sftp-gcm``: the same with ``-c aes128-gcm@openssh.com``, the cipher bankgate prefers: the
  baseline the goal is measured against (the faster of the two on this machine);
- ``sftp-gcm+sha256sum``: ``sftp-gcm``, then ``sha256sum`` of the file it wrote: the nearest
  thing to a bankgate pull done with OpenSSH's tools (the bytes landed and their SHA-256 known;
  ``sha256sum`` reads the file back from the page cache where bankgate hashes on the way);
- ``paramiko``: paramiko's own ``SFTPClient.get`` (32 KiB prefetch, its default window);
- ``bankgate-local``: ``pull_bank`` into a ``file://`` store with the defaults: pipelined reads,
  SHA-256 on the fly, ``verify="checksum"`` (a directory computes no checksum of its own, so
  the size; see bankgate/sftp/verify.py); ``landing="auto"``: a temporary key, verified, then hard-linked to
  the final key with the full metadata (what S3 and GCS get, server-side);
- ``bankgate-local-direct``: the same with ``landing="direct"`` (straight into the final key),
  to show what the temporary key and the copy cost;
- ``bankgate-local-sha256``: the defaults but ``verify="sha256"`` (the landed copy read back and
  hashed), to show what the read-back costs;
- ``bankgate-s3``: ``pull_bank`` into moto S3 (a moto server in its own process) with the
  defaults: multipart upload to a temporary key with a full-object CRC-32 (computed here too,
  compared with the one S3 reports: no read-back), server-side copy;
- ``bankgate-s3-direct``: the same with ``landing="direct"`` (no copy);
- ``airflow-sftp-to-s3``: Airflow's stock ``SFTPToS3Operator`` (apache-airflow-providers-amazon,
  the ``bench`` extra) into moto S3, its only sink, run as a task runs it: ``execute()`` with
  env-var connections (the SFTP one pins the host key with the ``host_key`` extra), a fresh
  ``AIRFLOW_HOME``, no metadata database. It downloads into a local temporary file with
  paramiko's ``get``, then uploads it with boto3, and checks no checksum. One operator per
  small file (one task per file, as the operator is used), run in a loop in one process after
  a listing: no scheduler or task start-up is counted, so it is a lower bound. See
  ``child_airflow``;
- anything given with ``--extra NAME=module:function``: ``function(spec)`` is called in a
  child with the dict described in ``child_spec`` and returns the number of bytes it moved.

Every contender writes to local disk or moto, so it pays for its own sink. Python contenders are
timed from after their imports (an Airflow worker has them loaded), connection included; the
small files skip the variants that only matter for a large file. moto is a single Python
process: its S3 rates say little about S3 (where copies are server-side and parallel). Each runs on plain
loopback and through a delaying TCP proxy adding ``--rtt-ms`` of round trip (half each way; netem
is not available). Printed: MiB/s (files/s for the small files), peak RSS (VmHWM; for ``sftp``
the sum of the ``sftp`` and ``ssh`` processes' peaks) and the ratio to the best OpenSSH run.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1 << 20
BIG_DIR = "/outbound/big"
CONTENDERS = (
    "sftp",
    "sftp-gcm",
    "sftp-gcm+sha256sum",
    "paramiko",
    "bankgate-local",
    "bankgate-local-direct",
    "bankgate-local-sha256",
    "bankgate-s3",
    "bankgate-s3-direct",
    "airflow-sftp-to-s3",
)
#: Airflow's operators (the ``bench`` extra), to moto S3.
AIRFLOW = ("airflow-sftp-to-s3",)
#: Minutes per round on the small files (moto's request rate; the operator's 0.3 s per file) or
#: on the large one (moto's UploadPartCopy re-reads the whole source object for every part):
#: ``--slow-rounds`` can run them in fewer rounds than the others.
SLOW = ("bankgate-s3", "bankgate-s3-direct", *AIRFLOW)
#: (landing, verify) of each bankgate contender; the plain ones are the product defaults.
BANKGATE = {
    "bankgate-local": ("auto", "checksum"),  # temporary key, verify, hard link to the final key
    "bankgate-local-direct": ("direct", "checksum"),
    "bankgate-local-sha256": ("auto", "sha256"),
    "bankgate-s3": ("auto", "checksum"),  # S3 copies server-side: temporary key, verify, copy
    "bankgate-s3-direct": ("direct", "checksum"),
}
#: Variants that only differ for a large file (ciphers, landing modes): not run on small files.
LARGE_ONLY = (
    "sftp-gcm",
    "sftp-gcm+sha256sum",
    "paramiko",
    "bankgate-local-direct",
    "bankgate-local-sha256",
    "bankgate-s3-direct",
)


# -- the files ----------------------------------------------------------------------------------------


def small_dir(count: int) -> str:
    return f"/outbound/small-{count}"


def make_files(server: Any, size_mb: int, counts: set[int]) -> dict[str, int]:
    """The large file (random, from a 64 MiB pool) and a folder of small ones per count;
    returns the byte total of each folder."""
    rng = random.Random(7)
    pool = os.urandom(64 * MiB)
    big = server.local(f"{BIG_DIR}/big.bin")
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as out:
        left = size_mb * MiB
        while left:
            start = rng.randrange(0, 32 * MiB)
            piece = pool[start : start + min(left, 32 * MiB)]
            out.write(piece)
            left -= len(piece)
    old = time.time() - 3600
    os.utime(big, (old, old))
    totals = {BIG_DIR: size_mb * MiB}
    for path in (big.parent, big):
        os.chown(path, server.uid, server.gid)
    for count in counts:
        folder = server.local(small_dir(count))
        folder.mkdir(parents=True, exist_ok=True)
        total = 0
        for i in range(count):
            size = rng.randrange(1024, 32 * 1024)
            start = rng.randrange(0, len(pool) - size)
            path = folder / f"f{i:05}.ach"
            path.write_bytes(pool[start : start + size])
            os.utime(path, (old, old))
            os.chown(path, server.uid, server.gid)
            total += size
        os.chown(folder, server.uid, server.gid)
        totals[small_dir(count)] = total
    return totals


# -- children -----------------------------------------------------------------------------------------


def peak_rss(pid: int | str = "self") -> int:
    """Peak RSS in bytes from ``VmHWM`` (unlike ``ru_maxrss``, not inherited over fork)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        todo += [int(c) for c in children]
    return found


def run_openssh(spec: dict[str, Any], cipher: str | None) -> dict[str, Any]:
    """``sftp -b`` in the foreground; VmHWM of it and its ``ssh`` sampled while they run."""
    dest = Path(spec["dest_dir"])
    if spec["workload"] == "large":
        batch = f"get {BIG_DIR}/big.bin {dest}/big.bin\n"
    else:
        batch = f"get {spec['directory']}/* {dest}/\n"
    command = [
        "sftp",
        "-q",
        "-b",
        "-",
        "-P",
        str(spec["port"]),
        "-i",
        spec["key"],
        "-o",
        f"UserKnownHostsFile={spec['known_hosts_file']}",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "Compression=no",
        *(["-c", cipher] if cipher else []),
        f"{spec['user']}@{spec['host']}",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(batch.encode())
    process.stdin.close()
    peaks: dict[int, int] = {}
    while process.poll() is None:
        for pid in [process.pid, *_descendants(process.pid)]:
            peaks[pid] = max(peaks.get(pid, 0), peak_rss(pid))
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(f"sftp failed: {process.stderr.read().decode() if process.stderr else ''}")
    moved = sum(p.stat().st_size for p in dest.iterdir())
    return {"seconds": seconds, "bytes": moved, "peak_rss": sum(peaks.values())}


def child_paramiko(spec: dict[str, Any]) -> int:
    import paramiko

    client = paramiko.SSHClient()
    kind, blob = spec["host_key"].split()[:2]
    client.get_host_keys().add(
        f"[{spec['host']}]:{spec['port']}", kind, paramiko.PKey.from_type_string(kind, _b64(blob))
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(spec["host"], spec["port"], spec["user"], key_filename=spec["key"], look_for_keys=False)
    sftp = client.open_sftp()
    dest = Path(spec["dest_dir"])
    total = 0
    directory = spec["directory"]
    for name in sorted(sftp.listdir(directory)):
        sftp.get(f"{directory}/{name}", str(dest / name))
        total += (dest / name).stat().st_size
    client.close()
    return total


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def child_bankgate(spec: dict[str, Any]) -> int:
    from bankgate.banks import BankConfig
    from bankgate.sftp import SftpSettings, pull_bank

    settings = SftpSettings(
        host=spec["host"],
        port=spec["port"],
        username=spec["user"],
        private_key_path=spec["key"],
        known_hosts=spec["known_hosts"],
    )
    large = spec["workload"] == "large"
    rules = BankConfig(
        "bench",
        remote_dirs=(spec["directory"],),
        stability=(),
        concurrency=1 if large else spec["concurrency"],
        landing=BANKGATE[spec["contender"]][0],
        verify=BANKGATE[spec["contender"]][1],
    )
    report = pull_bank(settings, rules, spec["store_url"])
    if report.failed or not report.pulled:
        raise RuntimeError(f"bankgate pull failed: {report.summary()} {report.failed[:3]}")
    return report.bytes


AIRFLOW_SFTP_CONN = "bench_sftp"


def airflow_environment(spec: dict[str, Any]) -> None:
    """What an Airflow worker would have: an ``AIRFLOW_HOME`` (a fresh temporary one), an SFTP
    connection pinning the server's host key (the ssh provider's ``host_key`` extra: paramiko's
    RejectPolicy for any other key) and an aws connection pointing at moto, both given as
    ``AIRFLOW_CONN_<ID>`` JSON so no metadata database is needed. ``compress`` is off like every
    other contender's (SSHHook's default is on: zlib at both ends, which random bytes only
    slow down); ``look_for_keys`` off so only the given key is offered. Set before airflow is
    imported."""
    home = tempfile.mkdtemp(prefix="bankgate-bench-airflow-")
    atexit.register(shutil.rmtree, home, True)
    os.environ["AIRFLOW_HOME"] = home
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    sftp = {
        "conn_type": "sftp",
        "host": spec["host"],
        "port": spec["port"],
        "login": spec["user"],
        "extra": {
            "key_file": spec["key"],
            "host_key": spec["host_key"],
            "no_host_key_check": False,
            "look_for_keys": False,
            "compress": False,
        },
    }
    aws = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": spec["s3_endpoint"], "region_name": "us-east-1"},
    }
    os.environ[f"AIRFLOW_CONN_{AIRFLOW_SFTP_CONN.upper()}"] = json.dumps(sftp)
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(aws)


def child_airflow(spec: dict[str, Any]) -> int:
    """Airflow's ``SFTPToS3Operator`` (apache-airflow-providers-amazon) with its defaults, as a
    task runs it: ``execute()`` downloads the remote file with paramiko's ``SFTPClient.get`` into
    a local temporary file, then ``S3Hook.load_file`` uploads it (boto3's managed transfer:
    multipart above 8 MiB). It verifies nothing beyond what paramiko and boto3 check themselves.
    The stock operator moves one file per task, so the small files are one operator each: a
    listing first (SFTPHook, as a task generating the mapped tasks would), then one operator
    per file, run in a loop in this process (no scheduler, no task start-up: a lower bound on
    what Airflow would take); each opens its own SSH connection and S3 client, as a task does.

    ``execute()`` never closes its SSH connection (a task's process exit does that): in one
    process thousands of them would pile up, each with a paramiko thread polling its socket ten
    times a second, slowing every later operator (0.4 s a file at first, 0.9 s after 1,500).
    So each operator's connections are closed after its ``execute()``, as its process ending
    would."""
    from airflow.providers.amazon.aws.transfers.sftp_to_s3 import SFTPToS3Operator
    from airflow.providers.sftp.hooks.sftp import SFTPHook
    from airflow.providers.ssh.hooks.ssh import SSHHook

    opened: list[Any] = []
    get_conn = SSHHook.get_conn

    def tracked(self: Any) -> Any:
        client = get_conn(self)
        opened.append(client)
        return client

    SSHHook.get_conn = tracked  # type: ignore[method-assign]
    bucket = spec["store_url"].split("/")[2]
    directory = spec["directory"]
    if spec["workload"] == "large":
        names = ["big.bin"]
    else:
        names = sorted(SFTPHook(ssh_conn_id=AIRFLOW_SFTP_CONN).list_directory(directory) or [])
    for number, name in enumerate(names):
        SFTPToS3Operator(
            task_id=f"pull_{number}",
            sftp_conn_id=AIRFLOW_SFTP_CONN,
            sftp_path=f"{directory}/{name}",
            s3_bucket=bucket,
            s3_key=f"inbound/bench/{name}",
        ).execute(context={})
        while opened:
            opened.pop().close()
    return -1  # counted in the bucket once the clock has stopped


def landed_in_bucket(spec: dict[str, Any]) -> int:
    bucket = spec["store_url"].split("/")[2]
    pages = Moto.client_for(spec["s3_endpoint"]).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sum(o["Size"] for page in pages for o in page.get("Contents", []))


def child_main(name: str, spec: dict[str, Any]) -> None:
    """Libraries are imported before the clock starts (an Airflow worker has them loaded); the
    connection and everything after it is timed, as ``sftp``'s whole run is."""
    import paramiko  # noqa: F401

    import bankgate.sftp  # noqa: F401

    if "s3" in name:
        import boto3  # noqa: F401
    if name.startswith("airflow"):
        airflow_environment(spec)
        import airflow.providers.amazon.aws.hooks.s3
        import airflow.providers.amazon.aws.transfers.sftp_to_s3
        import airflow.providers.sftp.hooks.sftp  # noqa: F401

    started = time.perf_counter()
    if name == "paramiko":
        moved = child_paramiko(spec)
    elif name.startswith("airflow"):
        moved = child_airflow(spec)
    elif name.startswith("bankgate"):
        moved = child_bankgate(spec)
    else:  # --extra NAME=module:function
        module, _, function = spec["extra"][name].partition(":")
        moved = int(getattr(importlib.import_module(module), function)(spec))
    seconds = time.perf_counter() - started
    if moved < 0:
        moved = landed_in_bucket(spec)
    print(json.dumps({"seconds": seconds, "bytes": moved, "peak_rss": peak_rss()}))


def run_child(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    if name.startswith("sftp"):
        result = run_openssh(spec, "aes128-gcm@openssh.com" if name.startswith("sftp-gcm") else None)
        if name.endswith("+sha256sum"):
            started = time.perf_counter()
            files = sorted(str(p) for p in Path(spec["dest_dir"]).iterdir())
            if not files:
                raise RuntimeError("sftp wrote nothing to hash")
            subprocess.run(["sha256sum", *files], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            result["seconds"] += time.perf_counter() - started
        return result
    env = {**os.environ, **spec.get("env", {})}
    done = subprocess.run(
        [sys.executable, __file__, "--child", name, json.dumps(spec)], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- moto -----------------------------------------------------------------------------------------------


class Moto:
    """A moto S3 server in its own process, so its CPU is not the benchmark's."""

    def __init__(self) -> None:
        from tests.sftp.sshd import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
        }
        for _ in range(200):
            try:
                self.client().list_buckets()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def client(self) -> Any:
        return self.client_for(self.url)

    @staticmethod
    def client_for(url: str) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=name)
        return name

    def drop(self, bucket: str) -> None:
        s3 = self.client()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000]})
        s3.delete_bucket(Bucket=bucket)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# -- the run --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--small", type=int, default=5000, help="number of small files (0: none)")
    parser.add_argument(
        "--small-rtt",
        type=int,
        default=1000,
        help="small files for the delayed pass (OpenSSH sftp fetches them one by one: 5,000 take ~10 min at 20 ms)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--slow-rounds",
        type=int,
        default=None,
        help=f"rounds for {', '.join(SLOW)} (default: --rounds); they run in the first ones",
    )
    parser.add_argument("--rtt-ms", type=float, default=20.0, help="added round trip for the second pass (0: skip)")
    parser.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated contenders")
    parser.add_argument("--workloads", default="large,small")
    parser.add_argument("--concurrency", type=int, default=8, help="bankgate workers for the small files")
    parser.add_argument("--extra", action="append", default=[], help="NAME=module:function, run as a contender")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], json.loads(args.child[1]))
        return

    from tests.sftp.netproxy import TcpProxy
    from tests.sftp.sshd import start_sshd

    extra = dict(item.split("=", 1) for item in args.extra)
    contenders = [c for c in args.only.split(",") if c] + list(extra)
    workloads = [w for w in args.workloads.split(",") if w and (w != "small" or args.small)]
    server = start_sshd()
    moto = Moto() if any("s3" in c for c in contenders) else None
    work = Path(tempfile.mkdtemp(prefix="bankgate-bench-pull-"))
    results: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    try:
        print(f"writing {args.size_mb} MiB and {args.small} small files into the sshd chroot ...", flush=True)
        sizes = make_files(server, args.size_mb, {args.small, args.small_rtt} - {0})
        networks: list[tuple[str, float]] = [("loopback", 0.0)]
        if args.rtt_ms:
            networks.append((f"rtt {args.rtt_ms:g} ms", args.rtt_ms / 2000))
        for network, delay in networks:
            proxy = TcpProxy((server.host, server.port), delay=delay).__enter__() if delay else None
            port = proxy.port if proxy else server.port
            known_hosts = f"[{server.host}]:{port} {server.host_key}\n"
            known_file = work / f"known_hosts-{port}"
            known_file.write_text(known_hosts)
            try:
                for workload in workloads:
                    count = args.small_rtt if delay else args.small
                    directory = BIG_DIR if workload == "large" else small_dir(count)
                    if workload == "small" and not count:
                        continue
                    names = [c for c in contenders if workload == "large" or c not in LARGE_ONLY]
                    for round_number in range(args.rounds):
                        turn = round_number % len(names)
                        slow_rounds = args.rounds if args.slow_rounds is None else args.slow_rounds
                        for name in names[turn:] + names[:turn]:
                            if name in SLOW and round_number >= slow_rounds:
                                continue
                            dest = work / "dest"
                            shutil.rmtree(dest, ignore_errors=True)
                            dest.mkdir()
                            bucket = moto.bucket() if moto and "s3" in name else None
                            spec = {
                                "workload": workload,
                                "contender": name,
                                "directory": directory,
                                "host": server.host,
                                "port": port,
                                "user": server.user,
                                "key": str(server.client_key),
                                "host_key": server.host_key,
                                "known_hosts": known_hosts,
                                "known_hosts_file": str(known_file),
                                "dest_dir": str(dest),
                                "store_url": f"s3://{bucket}/inbound/bench/" if bucket else f"file://{dest}",
                                "env": moto.env if moto else {},
                                "s3_endpoint": moto.url if moto else "",
                                "concurrency": args.concurrency,
                                "extra": extra,
                            }
                            try:
                                result = run_child(name, spec)
                            finally:
                                if bucket and moto:
                                    moto.drop(bucket)
                            if result["bytes"] != sizes[directory]:
                                raise RuntimeError(f"{name} moved {result['bytes']} bytes, not {sizes[directory]}")
                            result["files"] = 1 if workload == "large" else count
                            results.setdefault((network, workload, name), []).append(result)
                            rate = result["bytes"] / MiB / result["seconds"]
                            rss = result["peak_rss"] / MiB
                            print(
                                f"  {network:>10} {workload:5} round {round_number + 1} {name:16}"
                                f" {rate:8.1f} MiB/s  {result['seconds']:7.2f} s  rss {rss:6.0f} MiB",
                                flush=True,
                            )
            finally:
                if proxy:
                    proxy.stop()
    finally:
        if moto:
            moto.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(results, args)


def report(results: dict[tuple[str, str, str], list[dict[str, Any]]], args: argparse.Namespace) -> None:
    rounds = f"{args.rounds} rounds" + (f" ({args.slow_rounds} for {', '.join(SLOW)})" if args.slow_rounds else "")
    print(
        f"\nmedians of {rounds}; ratio = contender / best OpenSSH sftp variant in the same setting;"
        " +sum = contender / (sftp-gcm, then sha256sum of what it wrote)"
    )
    print(
        f"{'network':>10} {'workload':8} {'contender':20} {'MiB/s':>8} {'files/s':>8} {'peak RSS':>9} {'ratio':>6}"
        f" {'+sum':>6}"
    )
    settings = sorted({(n, w) for n, w, _ in results}, key=lambda k: (k[0] != "loopback", k[1] != "large"))
    for network, workload in settings:
        rows = {name: runs for (n, w, name), runs in results.items() if (n, w) == (network, workload)}
        rates = {name: statistics.median(r["bytes"] / MiB / r["seconds"] for r in runs) for name, runs in rows.items()}
        baseline = max((rates[n] for n in ("sftp", "sftp-gcm") if n in rates), default=0.0)
        summed = rates.get("sftp-gcm+sha256sum", 0.0)
        for name, runs in rows.items():
            rss = max(r["peak_rss"] for r in runs) / MiB
            files = statistics.median(r["files"] / r["seconds"] for r in runs) if workload == "small" else 0
            ratio = f"{rates[name] / baseline:5.2f}x" if baseline else "-"
            versus_sum = f"{rates[name] / summed:5.2f}x" if summed else "-"
            files_text = f"{files:8.0f}" if files else f"{'':8}"
            print(
                f"{network:>10} {workload:8} {name:20} {rates[name]:8.1f} {files_text} {rss:7.0f} MB {ratio:>6}"
                f" {versus_sum:>6}"
            )
    versus = [(ours, theirs) for ours in ("bankgate-s3", "bankgate-s3-direct") for theirs in AIRFLOW]
    lines = []
    for network, workload in settings:
        for ours, theirs in versus:
            a, b = results.get((network, workload, ours)), results.get((network, workload, theirs))
            if a and b:
                speed = statistics.median(r["bytes"] / r["seconds"] for r in a)
                other = statistics.median(r["bytes"] / r["seconds"] for r in b)
                rss = max(r["peak_rss"] for r in a) / max(r["peak_rss"] for r in b)
                lines.append(
                    f"{network:>10} {workload:8} {ours} / {theirs}: {speed / other:6.2f}x the speed,"
                    f" {rss:4.2f}x the peak RSS"
                )
    if lines:
        print("\nbankgate against Airflow's operator (same files, same moto):")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
