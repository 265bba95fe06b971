"""What each operator call sends: the contract function, its arguments and post-conditions."""

from __future__ import annotations

from enum import StrEnum

from sbtc_gateway.chain import (
    PrivateKey,
    StringAscii,
    ft_post_condition,
    make_contract_call,
    principal,
)
from sbtc_gateway.chain.networks import Network
from sbtc_gateway.chain.postconditions import PostCondition, PostConditionMode
from sbtc_gateway.chain.transactions import Transaction
from sbtc_gateway.operator.models import OperatorCall


class Function(StrEnum):
    # Anyone may call it; the contract pays one intent's fee to the fee recipient.
    DISTRIBUTE_FEES = "distribute-fees"
    # Owner only (`contract-caller`): the operator key must be the contract owner's.
    REVOKE_SIGNED_INTENT = "revoke-signed-intent"


def build(
    call: OperatorCall, network: Network, key: PrivateKey, *, nonce: int, fee: int
) -> Transaction:
    """The signed transaction for `call` (deny mode: only what the post-conditions allow)."""
    function = Function(call.function)
    conditions: list[PostCondition] = []
    if function is Function.DISTRIBUTE_FEES:
        if not call.amount:
            raise ValueError("distribute-fees needs the fee amount")
        args = [principal(network.sbtc_token), StringAscii(call.intent_id)]
        # The contract sends exactly the fee: nothing else may leave it.
        conditions.append(
            ft_post_condition(call.contract_id, "eq", call.amount, network.sbtc_asset_id)
        )
    else:
        args = [StringAscii(call.intent_id)]
    return make_contract_call(
        network,
        key,
        call.contract_id,
        function.value,
        args,
        nonce=nonce,
        fee=fee,
        post_conditions=conditions,
        post_condition_mode=PostConditionMode.DENY,
    )
