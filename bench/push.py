"""Push benchmark: bankgate's client through the presign API against boto3's managed upload.

    ./dev bench push [--size-mb 1024] [--rounds 2] [--workers 8]

One moto server (its own process) plays S3; ``bankgate serve``'s API (its own process, over that
moto) grants the uploads. Round after round, so machine noise hits both alike, each contender
uploads the same random file in its own child process, timed from after its imports:

- ``boto3``: ``S3Client.upload_file`` with its defaults (8 MiB parts, 10 threads, CRC-32
  checksums): the baseline;
- ``bankgate``: ``bankgate.push.client.Client.push``: SHA-256 of the file first (declared in the
  grant), then 8 MiB parts, 8 at a time, each signed by the API (one extra round trip a part),
  read with ``pread``.

Printed: MiB/s, peak RSS (VmHWM of the child) and the ratio to boto3 (goal >= 0.9x, with flat
memory). moto is one Python process on the same two cores: its rates say little about S3's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1 << 20


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(name: str, path: str, spec: dict) -> None:
    import boto3
    from botocore.config import Config

    from bankgate.push.client import Client

    os.environ.update({"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_DEFAULT_REGION": "us-east-1"})
    started = time.perf_counter()
    if name == "boto3":
        s3 = boto3.client("s3", endpoint_url=spec["moto"], config=Config(signature_version="s3v4"))
        s3.upload_file(path, "bankgate-staging", "inbound/bench/boto3.csv")
    else:
        Client(spec["api"], spec["token"], workers=spec["workers"]).push(path)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mib": peak_rss_mib()}))


def serve(moto: str) -> None:
    from bankgate.push.local import start_local

    _, url, auth, _ = start_local(moto_url=moto)
    print(json.dumps({"api": f"{url}/api", "token": auth.token("acme")}), flush=True)
    while True:
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], json.loads(args.child[2]))
    if args.serve:
        return serve(args.serve)

    import socket

    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    moto_url = f"http://127.0.0.1:{port}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        time.sleep(3)
        api = subprocess.Popen([sys.executable, __file__, "--serve", moto_url], stdout=subprocess.PIPE, text=True)
        procs.append(api)
        spec = json.loads(api.stdout.readline()) | {"moto": moto_url, "workers": args.workers}
        s3 = boto3.client(
            "s3", endpoint_url=moto_url, aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1"
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.csv"
            with path.open("wb") as f:
                for _ in range(args.size_mb):
                    f.write(os.urandom(MiB))
            results: dict[str, list[dict]] = {"boto3": [], "bankgate": []}
            for _ in range(args.rounds):
                for name in results:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", name, str(path), json.dumps(spec)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                    for obj in s3.list_objects_v2(Bucket="bankgate-staging").get("Contents", []):
                        s3.delete_object(Bucket="bankgate-staging", Key=obj["Key"])  # moto keeps it in memory
        size = args.size_mb
        rates = {name: statistics.median(size / r["seconds"] for r in runs) for name, runs in results.items()}
        print(f"push benchmark: {size} MiB to moto S3, {args.rounds} rounds, medians")
        for name, runs in results.items():
            peak = max(r["peak_mib"] for r in runs)
            ratio = rates[name] / rates["boto3"]
            print(f"  {name:9} {rates[name]:7.1f} MiB/s  peak RSS {peak:6.1f} MiB  {ratio:.2f}x boto3")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
