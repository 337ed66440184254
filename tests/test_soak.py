"""A short soak in every test session; ``nox -s soak`` runs the long one (tests/soak.py)."""

from __future__ import annotations

import pytest

from .soak import run_soak

pytestmark = pytest.mark.anyio


async def test_short_soak_loses_and_duplicates_nothing() -> None:
    """Every fault kind on: nothing lost, nothing duplicated, no connection or task left.

    A fixed number of operations, not a time: on a busy machine it takes longer and checks the
    same. How many succeed is a figure of the soak's output, not of this test."""
    report = await run_soak(operations=300, seed=3, workers=8)
    assert report.attempted == 300
    assert report.succeeded > 0
    assert report.lost == 0, report.lost_examples
    assert report.bulk_items == report.bulk_items_reported
    assert report.duplicated_assets == 0
    assert report.connections_in_use_at_end == 0
    assert report.tasks_left_at_end == 0
