"""The upload page in Debian's chromium (Playwright), served by ``bankgate serve``'s server with
the API, uploading into moto over HTTP on loopback: the browser's PUTs and parts go to moto,
cross-origin, through the CORS rules ``push.bucket`` puts on the bucket."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from bankgate.config import PipelineConfig, Route
from bankgate.pipeline import Pipeline, StagedObject
from bankgate.push import records
from bankgate.push.bucket import apply
from bankgate.push.server import LocalAuth, serve_in_thread
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.clouds import free_port
from tests.parts import unavailable
from tests.push.conftest import Push
from tests.test_cli import run_main

MiB = 1 << 20
NACHA = Path(__file__).resolve().parents[2] / "samples" / "nacha" / "payroll-ppd-ccd.ach"
#: The focused control's accessible label (its aria-label, else its text); "" when no control
#: (a button, input or link) has the focus: the page's own text is no label.
FOCUSED = (
    "(() => { const e = document.activeElement; if (!e || !['BUTTON', 'INPUT', 'A'].includes(e.tagName)) return '';"
    " return (e.getAttribute('aria-label') || e.textContent || '').trim() })()"
)


@dataclasses.dataclass
class Site:
    url: str
    auth: LocalAuth
    push: Push
    offset: list[float]  # seconds the API's clock is ahead of the wall clock


@pytest.fixture
def site(push: Push) -> Iterator[Site]:
    port = free_port()
    apply(push.s3, push.staging, [f"http://127.0.0.1:{port}"])
    offset = [0.0]
    grants = dataclasses.replace(push.grants, clock=lambda: time.time() + offset[0])
    auth = LocalAuth()
    server, url = serve_in_thread(grants, auth, port=port)
    yield Site(url, auth, push, offset)
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    if importlib.util.find_spec("playwright") is None:
        unavailable("chromium", "playwright is not installed (the 'dev' extra)")
    if not CHROMIUM.exists():
        unavailable("chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(30_000)
            yield page
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()


def upload(page: Any, site: Site, *files: Path, client: str = "acme", ttl: float = 3600) -> None:
    page.goto(f"{site.url}/#token={site.auth.token(client, ttl=ttl)}")
    page.locator("input[type=file]").first.set_input_files([str(f) for f in files])
    page.get_by_role("button", name="Upload").first.click()


def result(page: Any, name: str) -> Any:
    return page.locator("#results li", has_text=name)


def random_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``, written a MiB at a time; their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(size // MiB):
            chunk = os.urandom(MiB)
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def staged_sha256(site: Site, key: str) -> str:
    body = site.push.s3.get_object(Bucket=site.push.staging, Key=key)["Body"]
    digest = hashlib.sha256()
    for chunk in body.iter_chunks(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def pipeline_of(site: Site) -> Pipeline:
    """The processing pipeline over the site's buckets: one intake path for pushed objects."""
    config = PipelineConfig(
        staging=f"s3://{site.push.staging}",
        archive=f"s3://{site.push.archive}/originals/",
        quarantine=f"s3://{site.push.archive}/quarantine/",
        ledger=f"s3://{site.push.archive}/ledger/",
        routes={"*": Route(f"s3://{site.push.archive}/processed/")},
    )
    return Pipeline(config, s3_client=site.push.s3)


def granted(site: Site, client: str = "acme") -> list[records.UploadRecord]:
    store, prefix = site.push.grants.ledger, site.push.grants.ledger_prefix
    return [records.UploadRecord.from_json(store.read_bytes(o.key)) for o in store.list(f"{prefix}uploads/{client}/")]


@pytest.mark.slow  # 31-47 s measured on the shared 2-core machine: 16-26 s the upload, the rest hashing and processing
def test_a_small_file_and_a_200_mib_multipart_one_upload_into_versioned_staging(
    page: Any, site: Site, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    site.push.s3.put_bucket_versioning(Bucket=site.push.staging, VersioningConfiguration={"Status": "Enabled"})
    small, big = tmp_path / "payroll.csv", tmp_path / "big.csv"
    small.write_bytes(b"account,amount\n1,2\n")
    digests = {"payroll.csv": hashlib.sha256(small.read_bytes()).hexdigest(), "big.csv": random_file(big, 200 * MiB)}
    started = time.monotonic()
    upload(page, site, small, big, client="hooli")
    for name in ("payroll.csv", "big.csv"):  # a final state, then the right one (a refusal fails fast)
        expect(result(page, name)).to_have_attribute(
            "data-state", re.compile("uploaded|refused|failed"), timeout=300_000
        )
        assert result(page, name).get_attribute("data-state") == "uploaded", result(page, name).inner_text()
    print(f"200 MiB + a small file through the page into moto: {time.monotonic() - started:.1f} s")
    store, prefix = site.push.grants.ledger, site.push.grants.ledger_prefix
    uploads = granted(site, "hooli")
    by_name = {r.name: r for r in uploads}
    assert by_name["big.csv"].method == "s3-multipart" and by_name["payroll.csv"].method == "put"
    for record in uploads:  # the browser's SHA-256 is the file's, and so are the staged bytes
        assert record.sha256 == digests[record.name]
        assert staged_sha256(site, record.key) == digests[record.name]
        version = site.push.s3.head_object(Bucket=site.push.staging, Key=record.key)["VersionId"]
        assert version not in (None, "", "null")  # staging keeps versions
    # one intake path: the pipeline takes each pushed object (its version) and its upload record the outcome
    pipeline = pipeline_of(site)
    for record in uploads:
        outcome = pipeline.process(StagedObject(record.key))
        assert outcome.status in ("processed", "quarantined")
        settled = records.get(store, prefix, "hooli", record.upload_id)
        assert settled is not None and (settled.client, settled.state) == ("hooli", outcome.status)
    assert not site.push.s3.list_object_versions(Bucket=site.push.staging).get("Versions")  # none left behind


def test_a_used_up_quota_is_refused_in_words(page: Any, site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    grants = site.push.grants
    limit = grants.clients["acme"].uploads_per_day
    day = datetime.fromtimestamp(time.time(), UTC).date().isoformat()
    for _ in range(limit):  # the day's uploads, used by earlier grants
        records.take_quota(grants.ledger, grants.ledger_prefix, "acme", day, limit)
    extra = tmp_path / "one-more.csv"
    extra.write_bytes(b"a,b\n")
    upload(page, site, extra)
    expect(result(page, "one-more.csv")).to_contain_text(f"Today's {limit} uploads are used up.")
    expect(result(page, "one-more.csv")).to_have_attribute("data-state", "refused")
    assert granted(site) == []  # nothing was granted


def test_a_non_ascii_name_is_processed_and_named_so_in_the_ledger(page: Any, site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    name = "Überweisung März 2026 €.ach"
    (tmp_path / name).write_bytes(NACHA.read_bytes())
    upload(page, site, tmp_path / name)
    expect(result(page, name)).to_have_attribute("data-state", "uploaded", timeout=60_000)
    (record,) = granted(site)
    assert record.name == name and record.key.endswith(f"/Überweisung März 2026 €~{record.upload_id}.ach")
    assert pipeline_of(site).process(StagedObject(record.key)).status == "processed"
    ledger = f"s3://{site.push.archive}/ledger/"
    code, raw, _ = run_main(
        "ledger", "list", "--ledger", ledger, "--bank", "acme", "--day", record.day, "--output", "json"
    )
    assert code == 0
    (row,) = json.loads(raw)
    assert (row["name"], row["state"], row["kind"]) == (name, "done", "push")
    code, text, _ = run_main("ledger", "show", name, "--ledger", ledger, "--bank", "acme")
    assert code == 0 and "state: processed" in text.decode()
    assert f"name: {name}" in text.decode()


def test_the_page_works_from_the_keyboard(page: Any, site: Site, tmp_path: Path) -> None:
    """Tab to the file picker (a labelled button for the hidden input), choose, tab to Upload."""
    from playwright.sync_api import expect

    chosen = tmp_path / "keys.csv"
    chosen.write_bytes(b"a,b\n1,2\n")
    choosers: list[Any] = []  # listened for before the page loads: a listener added just before
    page.on("filechooser", lambda chooser: choosers.append(chooser))  # the key press misses one in three
    page.goto(f"{site.url}/#token={site.auth.token('acme')}")

    def tab_to(label: str) -> str:
        for _ in range(40):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if label in focused.lower():
                return str(focused)
        raise AssertionError(f"no control labelled {label!r} is reached with Tab")

    assert tab_to("browse")
    page.keyboard.press("Enter")
    for _ in range(100):
        if choosers:
            break
        page.wait_for_timeout(100)
    (chooser,) = choosers
    chooser.set_files(str(chosen))
    assert tab_to("upload 1 file")
    page.keyboard.press("Enter")
    expect(result(page, "keys.csv")).to_have_attribute("data-state", "uploaded")
    (record,) = granted(site)
    assert staged_sha256(site, record.key) == hashlib.sha256(chosen.read_bytes()).hexdigest()


def test_a_part_tampered_on_the_way_is_quarantined_with_declared_against_received(
    page: Any, site: Site, tmp_path: Path
) -> None:
    """S3 checks no whole-object SHA-256 of a multipart upload: a part altered between the
    browser and S3 (here by the test, on the wire) lands, and the pipeline quarantines the
    file; its journey shows the browser's declared SHA-256 against the received one."""
    from playwright.sync_api import expect

    big = tmp_path / "tampered.csv"
    declared = random_file(big, 17 * MiB)  # over the page's 16 MiB: multipart

    def tamper(route: Any) -> None:
        body = bytearray(route.request.post_data_buffer or b"")
        body[0] ^= 0xFF
        route.continue_(post_data=bytes(body))

    page.route(re.compile(r".*[?&]partNumber=2(&|$).*"), tamper)
    upload(page, site, big)
    expect(result(page, "tampered.csv")).to_have_attribute("data-state", "uploaded", timeout=60_000)
    (record,) = granted(site)
    received = staged_sha256(site, record.key)
    assert record.sha256 == declared != received
    outcome = pipeline_of(site).process(StagedObject(record.key))
    assert outcome.status == "quarantined"  # why first: not the declared bytes; then: no parser for them
    assert outcome.reason.startswith(f"pushed file 'tampered.csv' (upload {record.upload_id} of acme): its SHA-256")
    assert f"but the client declared {declared}; its content fails too: " in outcome.reason
    code, raw, _ = run_main("ledger", "show", record.staged_url, "--ledger", f"s3://{site.push.archive}/ledger/")
    assert code == 0 and f"declared_sha256: {declared}" in raw.decode() and f"sha256 {received}" in raw.decode()


def test_refusals_are_shown_in_words(page: Any, site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    wrong, huge = tmp_path / "tool.exe", tmp_path / "huge.ach"
    wrong.write_bytes(b"MZ")
    with huge.open("wb") as f:
        f.truncate(65 * MiB)  # over acme's 64 MiB, sparse
    upload(page, site, wrong, huge)
    expect(result(page, "tool.exe")).to_contain_text("Files of this type are not accepted")
    expect(result(page, "huge.ach")).to_contain_text("larger than the 67,108,864 bytes allowed")
    for name in ("tool.exe", "huge.ach"):
        expect(result(page, name)).to_have_attribute("data-state", "refused")


def test_an_expired_link_is_refused_in_words(page: Any, site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    small = tmp_path / "late.csv"
    small.write_bytes(b"a,b\n")
    upload(page, site, small, ttl=-60)
    expect(result(page, "late.csv")).to_contain_text("Your sign-in link has expired")


def test_a_link_that_expires_mid_upload_is_refused_in_words(page: Any, site: Site, tmp_path: Path) -> None:
    """Paused after its first part, resumed after the grant's link ran out: the next part's
    signature is refused (410) and the page says so."""
    from playwright.sync_api import expect

    big = tmp_path / "slow.csv"
    big.write_bytes(os.urandom(20 * MiB))
    page.goto(f"{site.url}/#token={site.auth.token('acme')}")
    page.evaluate(
        """() => { window.partsDone = 0; window.bankgateUppy.on('s3-multipart:part-uploaded', () => {
             if (++window.partsDone === 1) window.bankgateUppy.pauseAll() }) }"""
    )
    page.locator("input[type=file]").first.set_input_files(str(big))
    page.get_by_role("button", name="Upload").first.click()
    page.wait_for_function("window.partsDone >= 1")
    site.offset[0] = 2 * 3600  # past acme's 10-minute links
    page.evaluate("window.bankgateUppy.resumeAll()")
    expect(result(page, "slow.csv")).to_contain_text("This upload link has expired; ask for a new one.")
    expect(result(page, "slow.csv")).to_have_attribute("data-state", "refused")


@pytest.fixture
def proxied(push: Push) -> Iterator[tuple[Site, Any]]:
    """The site with S3 reached through a loopback TCP proxy that the test can cut."""
    from botocore.config import Config

    from tests.sftp.netproxy import TcpProxy

    moto = urlsplit(push.s3.meta.endpoint_url)
    with TcpProxy((moto.hostname, moto.port)) as proxy:
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{proxy.port}", config=Config(signature_version="s3v4"))
        port = free_port()
        apply(push.s3, push.staging, [f"http://127.0.0.1:{port}"])
        grants = dataclasses.replace(push.grants, s3=s3)
        auth = LocalAuth()
        server, url = serve_in_thread(grants, auth, port=port)
        yield Site(url, auth, push, [0.0]), proxy
        server.shutdown()
        server.server_close()


def cut(proxy: Any) -> int:
    """Every connection through the proxy closed at once, mid-request: the network went away;
    how many connections were open."""
    with proxy._lock:
        sockets, proxy._sockets = proxy._sockets, []
    proxy._kill(*sockets)
    return len(sockets) // 2


def test_a_connection_cut_mid_upload_is_resumed(page: Any, proxied: tuple[Site, Any], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    site, proxy = proxied
    data = os.urandom(20 * MiB)
    big = tmp_path / "cut.csv"
    big.write_bytes(data)
    page.goto(f"{site.url}/#token={site.auth.token('acme')}")
    page.evaluate(
        "() => { window.partsDone = 0; window.bankgateUppy.on('s3-multipart:part-uploaded', () => ++window.partsDone) }"
    )
    page.locator("input[type=file]").first.set_input_files(str(big))
    page.get_by_role("button", name="Upload").first.click()
    page.wait_for_function("window.partsDone >= 1")
    assert cut(proxy) >= 1  # the next part is on its way
    retry = page.get_by_role("button", name="Retry")
    with contextlib.suppress(Exception):  # Uppy may retry by itself; else the person does
        retry.first.click(timeout=15_000)
    expect(result(page, "cut.csv")).to_have_attribute("data-state", "uploaded", timeout=90_000)
    store, prefix = site.push.grants.ledger, site.push.grants.ledger_prefix
    (listed,) = store.list(f"{prefix}uploads/acme/")
    record = records.UploadRecord.from_json(store.read_bytes(listed.key))
    assert site.push.s3.get_object(Bucket=site.push.staging, Key=record.key)["Body"].read() == data


def test_the_page_asks_the_api_its_meta_tag_names(page: Any, site: Site, tmp_path: Path) -> None:
    """A page hosted apart from the API (S3 or CloudFront, the stack's ``UploadApiUrl``) names it in
    ``<meta name="bankgate-api">``: every presign call goes there. Here the page's own copy names
    ``/elsewhere/api`` on the same host, which the browser's requests reach (and are forwarded to
    the real API from); without the tag the page would ask ``api/`` beside itself. (The bytes'
    PUT to moto after a grant answered through Playwright's route fails in chromium as a network
    error, a limit of the interception, not of the page: the other tests upload for real.)"""
    from playwright.sync_api import expect

    elsewhere: list[str] = []

    def with_api_named(route: Any) -> None:
        html = (
            route.fetch()
            .text()
            .replace(
                '<meta name="bankgate-api" content="">',
                f'<meta name="bankgate-api" content="{site.url}/elsewhere/api">',
            )
        )
        route.fulfill(body=html, content_type="text/html")

    def forwarded(route: Any) -> None:
        elsewhere.append(route.request.url)
        route.fulfill(response=route.fetch(url=route.request.url.replace("/elsewhere/api/", "/api/")))

    page.route(f"{site.url}/", with_api_named)
    page.route(f"{site.url}/elsewhere/api/**", forwarded)
    small = tmp_path / "payroll.ach"
    small.write_bytes(b"101 payroll\n")
    upload(page, site, small)
    expect(result(page, "payroll.ach")).to_have_attribute("data-state", re.compile("uploaded|failed"), timeout=60_000)
    assert elsewhere and all(url.startswith(f"{site.url}/elsewhere/api/") for url in elsewhere)
    (grant,) = granted(site)  # the API it named granted the upload
    assert grant.name == "payroll.ach"
