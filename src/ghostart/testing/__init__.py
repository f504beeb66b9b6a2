"""Test support for ghostart and its plugins: fakes and contract suites.

Contract suites live in :mod:`ghostart.testing.contracts`; subclass one and provide its fixture
to check that an adapter keeps its port's guarantees.
"""

from ghostart.testing.fakes import CountingGenerator, EventRecorder, ManualClock, ManualTimer

__all__ = ["CountingGenerator", "EventRecorder", "ManualClock", "ManualTimer"]
