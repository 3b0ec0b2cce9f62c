"""What the pull code relies on from every object store, checked on all three real backends."""

from __future__ import annotations

import pytest

from bankgate.store import open_url
from plugins.bankgate_sftp import PullLedger, RemoteFile


@pytest.mark.parametrize("where", ["local_url", "s3_url", "gcs_url"])
def test_a_missing_object_is_a_key_error_and_not_pulled_yet(request: pytest.FixtureRequest, where: str) -> None:
    store, base = open_url(request.getfixturevalue(where))
    with pytest.raises(KeyError):
        store.read_bytes(f"{base}missing.json")
    with pytest.raises(KeyError):
        store.open(f"{base}missing.json")
    assert store.info(f"{base}missing.json") is None
    assert PullLedger(store).get("acme", RemoteFile("/outbound/never.ach", 1, 1)) is None
    store.put_bytes(f"{base}present.json", b"{}")
    assert store.read_bytes(f"{base}present.json") == b"{}"
    with store.open(f"{base}present.json") as stream:
        assert stream.read() == b"{}"
