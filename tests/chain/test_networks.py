import pytest

from sbtc_gateway.chain.c32 import validate_principal
from sbtc_gateway.chain.networks import DEVNET, MAINNET, NETWORKS, TESTNET, get_network


def test_names_select_settings() -> None:
    assert get_network("devnet") is DEVNET
    assert get_network(" Testnet ") is TESTNET
    assert get_network("MAINNET") is MAINNET
    assert set(NETWORKS) == {"devnet", "testnet", "mainnet"}


def test_unknown_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown Stacks network"):
        get_network("regtest")


def test_chain_ids_versions_and_urls() -> None:
    assert (MAINNET.chain_id, MAINNET.transaction_version) == (0x00000001, 0x00)
    assert (TESTNET.chain_id, TESTNET.transaction_version) == (0x80000000, 0x80)
    assert (DEVNET.chain_id, DEVNET.transaction_version) == (0x80000000, 0x80)
    assert (MAINNET.single_sig_version, MAINNET.multi_sig_version) == (22, 20)
    assert (TESTNET.single_sig_version, TESTNET.multi_sig_version) == (26, 21)
    assert MAINNET.is_mainnet
    assert not TESTNET.is_mainnet
    assert not DEVNET.is_mainnet
    assert DEVNET.api_url == "http://127.0.0.1:3999"
    assert TESTNET.api_url == "https://api.testnet.hiro.so"
    assert MAINNET.api_url == "https://api.hiro.so"


def test_sbtc_contracts() -> None:
    assert MAINNET.sbtc_token == "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
    assert TESTNET.sbtc_token == "ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token"
    # The simnet carries sBTC at its mainnet address, under the testnet chain id.
    assert DEVNET.sbtc_token == MAINNET.sbtc_token
    assert TESTNET.sbtc_asset_id == f"{TESTNET.sbtc_token}::sbtc-token"
    validate_principal(MAINNET.sbtc_token, mainnet=True)
    validate_principal(TESTNET.sbtc_token, mainnet=False)


def test_settings_are_immutable() -> None:
    with pytest.raises(AttributeError):
        MAINNET.chain_id = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        NETWORKS["x"] = MAINNET  # type: ignore[index]
