"""The example page's usage section in headless Chromium: views counted, the admin's chart.

``/metrics`` of the live service (development: open) moved with the page's calls too.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import httpx

from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import local_jwt_secret
from tests.service.browser import needs_chromium, signed_in_page
from tests.service.live import clean_env, running_service

pytestmark = needs_chromium


def test_an_admin_sees_the_usage_chart_of_what_happened(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    env = clean_env(GHOSTART_HOME=str(tmp_path), GHOSTART_ANALYTICS_FLUSH_SECONDS="0.05")
    with running_service(tmp_path, env) as url:
        token = mint_dev_token(local_jwt_secret(tmp_path), uuid4(), email="chart@example.com")
        with signed_in_page(url, token) as page:
            page.click("#new-org")  # its creator is its admin
            expect(page.locator("#analytics")).to_be_visible()
            expect(page.locator("#analytics-chart rect")).to_have_count(14 * 4)
            page.fill("#topic", "Why our team writes design docs")
            page.click("#request")
            expect(page.locator("#status")).to_have_text("draft", timeout=20_000)
            today = page.locator('#analytics-chart rect[data-series="generations"]').last
            # The page loads the chart when it shows an organization: reload until the
            # batch with this generation is in (written within the flush interval).
            for _ in range(50):
                page.reload()
                expect(page.locator("#analytics")).to_be_visible()
                if today.get_attribute("data-value") == "1":
                    break
            assert today.get_attribute("data-value") == "1"
            views = page.locator('#analytics-chart rect[data-series="page_views"]').last
            assert int(views.get_attribute("data-value") or 0) >= 1
            expect(page.locator("#analytics-totals")).to_contain_text("1 drafts generated")
        metrics = httpx.get(url + "/metrics").text
    beacons = re.search(
        r'ghostart_http_requests_total\{method="POST",'
        r'route="/v1/organizations/\{organization_id\}/analytics/page-views",status="204"\} (\S+)',
        metrics,
    )
    assert beacons is not None and float(beacons.group(1)) >= 1
