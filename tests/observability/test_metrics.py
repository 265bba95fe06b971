"""The gateway's metric objects (`observability/metrics.py`)."""

from __future__ import annotations


def test_database_failures_are_counted() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from sbtc_gateway.observability import metrics

    counter = metrics.DB_ERRORS.labels("unit")
    before = counter._value.get()
    metrics.count_database_failure(OperationalError("SELECT 1", {}, Exception("gone")), "unit")
    metrics.count_database_failure(ConnectionRefusedError(), "unit")
    metrics.count_database_failure(ProgrammingError("SELEC 1", {}, Exception("typo")), "unit")
    metrics.count_database_failure(ValueError("bug"), "unit")
    assert counter._value.get() == before + 2
