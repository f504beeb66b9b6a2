"""A Sentry client per test whose transport keeps envelopes in memory (nothing is sent)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sentry_sdk

from ghostart_sentry import CapturingTransport, sentry_options

#: A DSN that could never be reached (and is never tried: the transport keeps envelopes).
DSN = "https://0123456789abcdef@sentry.invalid/1"


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    """Sentry initialised as an application would, with ghostart's scrubber; reset afterwards."""
    capturing = CapturingTransport()
    sentry_sdk.init(
        dsn=DSN,
        transport=capturing,
        default_integrations=False,  # no patching of logging or threads in the test process
        traces_sample_rate=1.0,
        include_local_variables=True,  # the scrubber must cope with frame variables too
        **sentry_options(),
    )
    try:
        yield capturing
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
