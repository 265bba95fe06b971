from typing import Any

import pytest

from sbtc_gateway.chain.api_types import TransactionInfo
from sbtc_gateway.chain.finality import Finality, assess_finality


def info(status: str, *, canonical: bool | None = True, burn: int | None = 100) -> TransactionInfo:
    data: dict[str, Any] = {"tx_id": "ab" * 32, "tx_status": status, "canonical": canonical}
    if burn is not None:
        data["burn_block_height"] = burn
    return TransactionInfo.from_json(data)


@pytest.mark.parametrize(
    ("status", "canonical", "tip", "extra", "expected"),
    [
        ("pending", None, 200, 0, Finality.MEMPOOL),
        ("dropped_replace_by_fee", None, 200, 0, Finality.DROPPED),
        ("something_new", True, 200, 0, Finality.UNKNOWN),
        ("success", False, 200, 0, Finality.ORPHANED),
        ("success", True, 100, 0, Finality.CONFIRMED),
        ("success", True, 101, 0, Finality.CONFIRMED),
        ("success", True, 102, 0, Finality.FINAL),
        ("success", True, 104, 3, Finality.CONFIRMED),
        ("success", True, 105, 3, Finality.FINAL),
        ("abort_by_post_condition", True, 101, 0, Finality.FAILED),
        ("abort_by_response", True, 102, 0, Finality.FAILED_FINAL),
        ("abort_by_response", False, 300, 0, Finality.ORPHANED),
    ],
)
def test_assess_finality(
    status: str, canonical: bool | None, tip: int, extra: int, expected: Finality
) -> None:
    assert (
        assess_finality(info(status, canonical=canonical), tip, extra_burn_blocks=extra) is expected
    )


def test_no_burn_height_is_never_final() -> None:
    assert assess_finality(info("success", burn=None), 10**9) is Finality.CONFIRMED


def test_negative_extra_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        assess_finality(info("success"), 200, extra_burn_blocks=-1)
