"""The staging bucket's lifecycle and CORS rules, put on a moto bucket and asked back over HTTP."""

from __future__ import annotations

import pytest
import requests

from bankgate.push.bucket import apply, staging_rules
from tests.push.conftest import Push


def test_the_rules_land_on_the_bucket(push: Push) -> None:
    apply(push.s3, push.staging, ["http://127.0.0.1:8765"], abort_after_days=3)
    (rule,) = push.s3.get_bucket_lifecycle_configuration(Bucket=push.staging)["Rules"]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    assert rule["Filter"] == {"Prefix": "inbound/"} and rule["Status"] == "Enabled"
    (cors,) = push.s3.get_bucket_cors(Bucket=push.staging)["CORSRules"]
    assert cors["AllowedOrigins"] == ["http://127.0.0.1:8765"]
    assert sorted(cors["AllowedMethods"]) == ["POST", "PUT"] and "ETag" in cors["ExposeHeaders"]


def test_a_preflight_from_the_page_is_allowed_and_from_elsewhere_not(push: Push, moto_url: str) -> None:
    apply(push.s3, push.staging, ["http://127.0.0.1:8765"])
    url = f"{moto_url}/{push.staging}/inbound/acme/x.ach"
    asked = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}
    page = requests.options(url, headers={"Origin": "http://127.0.0.1:8765", **asked}, timeout=10)
    assert page.status_code == 200 and page.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8765"
    other = requests.options(url, headers={"Origin": "http://127.0.0.2:8765", **asked}, timeout=10)
    assert other.status_code == 403  # moto's server echoes any origin in a header; the status is S3's answer


@pytest.mark.parametrize("origin", ["*", "upload.example.com", "https://upload.example.com/page"])
def test_an_origin_must_be_one_site(origin: str) -> None:
    with pytest.raises(ValueError, match="CORS origin"):
        staging_rules([origin])
