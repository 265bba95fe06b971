"""Hypothesis strategies for Clarity values and transactions."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from sbtc_gateway.chain import clarity as cv
from sbtc_gateway.chain.postconditions import (
    AssetInfo,
    ContractPostConditionPrincipal,
    FungibleConditionCode,
    FungiblePostCondition,
    NonFungibleConditionCode,
    NonFungiblePostCondition,
    OriginPrincipal,
    PostConditionMode,
    StandardPostConditionPrincipal,
    StxPostCondition,
)
from sbtc_gateway.chain.transactions import (
    AnchorMode,
    ClarityVersion,
    ContractCallPayload,
    SingleSigSpendingCondition,
    SmartContractPayload,
    SponsoredAuthorization,
    StandardAuthorization,
    TokenTransferPayload,
    Transaction,
)

versions = st.sampled_from([20, 21, 22, 26])
hash160s = st.binary(min_size=20, max_size=20)
contract_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,39}", fullmatch=True)
clarity_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9!?+<>=/*_-]{0,20}", fullmatch=True)
ascii_text = st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " \t\n\r")
utf8_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=20)

standard_principals = st.builds(cv.StandardPrincipal, versions, hash160s)
contract_principals = st.builds(cv.ContractPrincipal, versions, hash160s, contract_names)

leaves: st.SearchStrategy[cv.ClarityValue] = st.one_of(
    st.builds(cv.Int, st.integers(cv.INT_MIN, cv.INT_MAX)),
    st.builds(cv.UInt, st.integers(0, cv.UINT_MAX)),
    st.builds(cv.Buffer, st.binary(max_size=40)),
    st.builds(cv.Bool, st.booleans()),
    standard_principals,
    contract_principals,
    st.just(cv.NONE),
    st.builds(cv.StringAscii, ascii_text),
    st.builds(cv.StringUtf8, utf8_text),
)


def _tuples(
    children: st.SearchStrategy[cv.ClarityValue], keys: st.SearchStrategy[str]
) -> st.SearchStrategy[cv.ClarityValue]:
    return st.dictionaries(keys, children, min_size=1, max_size=5).map(cv.Tuple)


def clarity_values(
    keys: st.SearchStrategy[str] = clarity_names,
) -> st.SearchStrategy[cv.ClarityValue]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(cv.Ok, children),
            st.builds(cv.Err, children),
            st.builds(cv.Some, children),
            st.lists(children, max_size=5).map(lambda items: cv.List(tuple(items))),
            _tuples(children, keys),
        ),
        max_leaves=12,
    )


values = clarity_values()

pc_principals = st.one_of(
    st.just(OriginPrincipal()),
    st.builds(StandardPostConditionPrincipal, versions, hash160s),
    st.builds(ContractPostConditionPrincipal, versions, hash160s, contract_names),
)
assets = st.builds(AssetInfo, versions, hash160s, contract_names, clarity_names)
u64 = st.integers(0, 2**64 - 1)
post_conditions = st.one_of(
    st.builds(StxPostCondition, pc_principals, st.sampled_from(FungibleConditionCode), u64),
    st.builds(
        FungiblePostCondition, pc_principals, assets, st.sampled_from(FungibleConditionCode), u64
    ),
    st.builds(
        NonFungiblePostCondition,
        pc_principals,
        assets,
        leaves,
        st.sampled_from(NonFungibleConditionCode),
    ),
)

conditions = st.builds(
    SingleSigSpendingCondition,
    signer=hash160s,
    nonce=u64,
    fee=u64,
    signature=st.binary(min_size=65, max_size=65),
)
auths = st.one_of(
    st.builds(StandardAuthorization, conditions),
    st.builds(SponsoredAuthorization, conditions, conditions),
)
payloads = st.one_of(
    st.builds(
        TokenTransferPayload,
        st.one_of(standard_principals, contract_principals),
        u64,
        st.binary(max_size=34),
    ),
    st.builds(
        ContractCallPayload,
        contract_principals,
        clarity_names,
        st.lists(values, max_size=4).map(tuple),
    ),
    st.builds(
        SmartContractPayload,
        contract_names,
        ascii_text,
        st.one_of(st.none(), st.sampled_from(ClarityVersion)),
    ),
)
transactions = st.builds(
    Transaction,
    version=st.sampled_from([0x00, 0x80]),
    chain_id=st.sampled_from([0x00000001, 0x80000000]),
    auth=auths,
    payload=payloads,
    post_conditions=st.lists(post_conditions, max_size=3).map(tuple),
    post_condition_mode=st.sampled_from(PostConditionMode),
    anchor_mode=st.sampled_from(AnchorMode),
)
