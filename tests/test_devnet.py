"""Starting the devnet from Python (`devnet.py`): with a state folder, stopped and started again,
it continues the same chain; a folder it refuses is explained."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sbtc_gateway.devnet import DevnetError, DevnetProcess, available

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


def test_a_state_folder_keeps_the_chain_across_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "devnet"
    with DevnetProcess(port=0, block_time_ms=0, state_dir=folder) as first:
        assert not first.resumed
        mined = httpx.post(f"{first.url}/devnet/mine", json={"blocks": 2}, timeout=60).json()
        tip = mined["tip"]
    assert (folder / "chain.json").is_file()
    with DevnetProcess(port=0, block_time_ms=0, state_dir=folder) as second:
        assert second.resumed
        assert second.info["chain_id"] == first.info["chain_id"]
        block = httpx.get(f"{second.url}/extended/v2/blocks/{tip['height']}", timeout=30).json()
        assert (block["hash"], second.info["stacks_tip_height"]) == (tip["hash"], tip["height"])


def test_a_folder_the_devnet_refuses_is_explained(tmp_path: Path) -> None:
    (tmp_path / "chain.json").write_text("not json")
    with pytest.raises(DevnetError, match=r"is not a devnet chain .*move the folder away"):
        DevnetProcess(port=0, block_time_ms=0, state_dir=tmp_path).start()
