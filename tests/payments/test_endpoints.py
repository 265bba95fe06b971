"""The PaymentIntent API over HTTP: lifecycle, Stripe wire behaviour and bad input."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from sbtc_gateway.events.models import Event
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.schemas import PAYMENT_INTENT_FIELDS
from sbtc_gateway.runtime.worker import run_once
from tests.conftest import MAINNET_ADDRESS, OTHER_ADDRESS, Merchant, sign_up


async def _counts(app: Any, merchant_id: str) -> tuple[int, int]:
    async with app.state.gateway.sessions() as session:
        intents = await session.scalar(
            select(func.count())
            .select_from(PaymentIntent)
            .where(PaymentIntent.merchant_id == merchant_id)
        )
        events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.merchant_id == merchant_id)
        )
    return int(intents or 0), int(events or 0)


async def test_create_shape(merchant: Merchant) -> None:
    pi = await merchant.create_intent(
        25_000,
        description="Order 42",
        **{"metadata[order]": "42", "receipt_email": "buyer@example.com"},
    )
    assert list(pi) == list(PAYMENT_INTENT_FIELDS)
    assert pi["object"] == "payment_intent"
    assert pi["id"].startswith("pi_")
    assert len(pi["id"]) <= 36
    assert pi["amount"] == 25_000
    assert pi["currency"] == "sbtc"
    assert pi["livemode"] is False
    assert pi["status"] == "requires_payment_method"
    assert pi["application_fee_amount"] == 250  # starter tier: 100 bps
    assert pi["client_secret"].startswith(pi["id"] + "_secret_")
    assert pi["metadata"] == {"order": "42"}
    assert pi["expires_at"] - pi["created"] == 1800
    assert pi["sbtc"]["payout_address"] == merchant.body["stacks_address"]


async def test_fee_rounds_down_by_tier(client: httpx.AsyncClient) -> None:
    scale = await sign_up(client, tier="scale")  # 50 bps
    assert (await scale.create_intent(1_999))["application_fee_amount"] == 9
    assert (await scale.create_intent(2_000))["application_fee_amount"] == 10


async def test_json_body_is_accepted(merchant: Merchant) -> None:
    response = await merchant.post(
        "/v1/payment_intents", json={"amount": 5000, "currency": "sbtc", "metadata": {"a": "1"}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"a": "1"}


async def test_lifecycle_with_events(merchant: Merchant) -> None:
    pi = await merchant.create_intent(10_000)
    payer = OTHER_ADDRESS
    confirmed = await merchant.post(
        f"/v1/payment_intents/{pi['id']}/confirm",
        {"payment_method_data[type]": "sbtc", "payment_method_data[sbtc][payer]": payer},
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["status"] == "requires_action"
    action = body["next_action"]
    assert action["type"] == "sbtc_contract_call"
    call = action["sbtc_contract_call"]
    assert call["network"] == "devnet"
    assert call["intent_id"] == pi["id"]
    assert call["amount"] == 10_000
    assert call["fee"] == 100
    assert call["payer"] == payer
    assert call["post_condition_mode"] == "deny"
    assert action["redirect_to_url"]["url"].endswith(f"/checkout/{pi['id']}#{pi['client_secret']}")

    canceled = await merchant.post(
        f"/v1/payment_intents/{pi['id']}/cancel", {"cancellation_reason": "requested_by_customer"}
    )
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["cancellation_reason"] == "requested_by_customer"
    assert canceled.json()["canceled_at"] is not None

    again = await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
    assert again.status_code == 400
    err = again.json()["error"]
    assert err["code"] == "payment_intent_unexpected_state"
    assert err["payment_intent"]["status"] == "canceled"

    events = (await merchant.get("/v1/events", {"limit": 10})).json()["data"]
    mine = [e for e in events if e["data"]["object"]["id"] == pi["id"]]
    assert [e["type"] for e in mine] == [
        "payment_intent.canceled",
        "payment_intent.requires_action",
        "payment_intent.created",
    ]
    assert mine[0]["data"]["previous_attributes"]["status"] == "requires_action"
    assert mine[0]["request"]["id"].startswith("req_")
    one = await merchant.get(f"/v1/events/{mine[0]['id']}")
    assert one.json() == mine[0]


async def test_create_and_confirm_in_one_call(merchant: Merchant) -> None:
    pi = await merchant.create_intent(5000, confirm="true")
    assert pi["status"] == "requires_action"
    assert pi["next_action"]["type"] == "sbtc_contract_call"


async def test_payer_at_create_means_requires_confirmation(merchant: Merchant) -> None:
    pi = await merchant.create_intent(
        5000,
        **{"payment_method_data[type]": "sbtc", "payment_method_data[sbtc][payer]": OTHER_ADDRESS},
    )
    assert pi["status"] == "requires_confirmation"


async def test_update_metadata_rules(merchant: Merchant) -> None:
    pi = await merchant.create_intent(5000, **{"metadata[a]": "1", "metadata[b]": "2"})
    path = f"/v1/payment_intents/{pi['id']}"
    updated = (
        await merchant.post(path, {"metadata[a]": "", "metadata[c]": "3", "description": "x"})
    ).json()
    assert updated["metadata"] == {"b": "2", "c": "3"}
    assert updated["description"] == "x"
    cleared = (await merchant.post(path, {"description": "", "metadata": ""})).json()
    assert cleared["metadata"] == {}
    assert cleared["description"] is None
    amount = (await merchant.post(path, {"amount": "7000"})).json()
    assert amount["amount"] == 7000
    assert amount["application_fee_amount"] == 70


async def test_amount_locked_after_confirm(merchant: Merchant) -> None:
    pi = await merchant.create_intent(5000, confirm="true")
    response = await merchant.post(f"/v1/payment_intents/{pi['id']}", {"amount": "6000"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "payment_intent_unexpected_state"


def _pi(**extra: str) -> dict[str, str]:
    return {"amount": "5000", "currency": "sbtc", **extra}


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"currency": "sbtc"}, "amount", "parameter_missing"),
        (_pi(amount=""), "amount", "parameter_missing"),
        (_pi(amount="12.5"), "amount", "parameter_invalid_integer"),
        (_pi(amount="abc"), "amount", "parameter_invalid_integer"),
        (_pi(amount="999"), "amount", "amount_too_small"),
        (_pi(amount="1000000001"), "amount", "amount_too_large"),
        ({"amount": "5000"}, "currency", "parameter_missing"),
        (_pi(currency="usd"), "currency", "parameter_invalid"),
        (_pi(colour="red"), "colour", "parameter_unknown"),
        (_pi(**{"metadata[x[y]": "1"}), "metadata[x[y]", "parameter_invalid"),
        (_pi(**{"metadata[" + "k" * 41 + "]": "1"}), "metadata", "parameter_invalid"),
        (_pi(**{"metadata[k]": "v" * 501}), "metadata", "parameter_invalid"),
        (_pi(receipt_email="nope"), "receipt_email", "email_invalid"),
        (_pi(confirm="maybe"), "confirm", "parameter_invalid_boolean"),
        (_pi(**{"payment_method_types[0]": "card"}), "payment_method_types[0]",
         "parameter_invalid"),
        (
            _pi(**{"payment_method_data[type]": "sbtc",
                   "payment_method_data[sbtc][payer]": MAINNET_ADDRESS}),
            "payment_method_data[sbtc][payer]",
            "invalid_stacks_address",
        ),
    ],
)  # fmt: skip
async def test_create_bad_input_changes_nothing(
    app: Any, merchant: Merchant, data: dict[str, str], param: str, code: str
) -> None:
    before = await _counts(app, merchant.id)
    response = await merchant.post(
        "/v1/payment_intents", data, **{"Idempotency-Key": f"bad-{param}-{code}"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code), error
    assert error["message"]
    assert await _counts(app, merchant.id) == before


async def test_too_many_metadata_keys(merchant: Merchant) -> None:
    data = {"amount": "5000", "currency": "sbtc"} | {f"metadata[k{i}]": "v" for i in range(51)}
    response = await merchant.post("/v1/payment_intents", data)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata"


async def test_oversized_body(merchant: Merchant) -> None:
    response = await merchant.post(
        "/v1/payment_intents", {"amount": "5000", "currency": "sbtc", "description": "x" * 300_000}
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_bad_json_and_content_type(merchant: Merchant) -> None:
    bad = await merchant.client.post(
        "/v1/payment_intents",
        content=b"{nope",
        headers=merchant.headers(**{"Content-Type": "application/json"}),
    )
    assert bad.status_code == 400
    xml = await merchant.client.post(
        "/v1/payment_intents",
        content=b"<a/>",
        headers=merchant.headers(**{"Content-Type": "application/xml"}),
    )
    assert xml.status_code == 400


async def test_other_merchant_sees_404(client: httpx.AsyncClient, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    other = await sign_up(client)
    for response in (
        await other.get(f"/v1/payment_intents/{pi['id']}"),
        await other.post(f"/v1/payment_intents/{pi['id']}/cancel"),
        await other.post(f"/v1/payment_intents/{pi['id']}/confirm"),
        await other.post(f"/v1/payment_intents/{pi['id']}", {"description": "mine now"}),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
    assert (await other.get("/v1/payment_intents")).json()["data"] == []
    assert (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()["description"] is None


async def test_publishable_key_retrieve_and_confirm(merchant: Merchant) -> None:
    pi = await merchant.create_intent(**{"metadata[internal]": "x"})
    path = f"/v1/payment_intents/{pi['id']}"
    no_secret = await merchant.get(path, key=merchant.pk)
    assert no_secret.status_code == 400
    assert no_secret.json()["error"]["param"] == "client_secret"
    wrong = await merchant.get(path, {"client_secret": pi["id"] + "_secret_wrong"}, key=merchant.pk)
    assert wrong.status_code == 404
    seen = (
        await merchant.get(path, {"client_secret": pi["client_secret"]}, key=merchant.pk)
    ).json()
    assert seen["id"] == pi["id"]
    assert seen["metadata"] is None
    assert seen["application_fee_amount"] is None
    confirmed = await merchant.post(
        f"{path}/confirm", {"client_secret": pi["client_secret"]}, key=merchant.pk
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "requires_action"
    assert (await merchant.post(f"{path}/cancel", key=merchant.pk)).status_code == 403


async def test_list_paging(merchant: Merchant) -> None:
    ids = [(await merchant.create_intent(1000 + i))["id"] for i in range(5)]
    newest_first = list(reversed(ids))
    page1 = (await merchant.get("/v1/payment_intents", {"limit": 2})).json()
    assert page1["object"] == "list"
    assert page1["url"] == "/v1/payment_intents"
    assert [p["id"] for p in page1["data"]] == newest_first[:2]
    assert page1["has_more"] is True
    page2 = (
        await merchant.get("/v1/payment_intents", {"limit": 2, "starting_after": newest_first[1]})
    ).json()
    assert [p["id"] for p in page2["data"]] == newest_first[2:4]
    back = (
        await merchant.get("/v1/payment_intents", {"limit": 2, "ending_before": newest_first[2]})
    ).json()
    assert [p["id"] for p in back["data"]] == newest_first[:2]
    assert back["has_more"] is False
    created = (await merchant.get("/v1/payment_intents", {"created[gte]": 0, "limit": 100})).json()
    assert len(created["data"]) == 5
    bad = await merchant.get("/v1/payment_intents", {"limit": 101})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "limit"
    both = await merchant.get(
        "/v1/payment_intents", {"starting_after": ids[0], "ending_before": ids[1]}
    )
    assert both.status_code == 400


async def test_search(merchant: Merchant) -> None:
    a = await merchant.create_intent(3000, **{"metadata[order_id]": "6735"})
    b = await merchant.create_intent(9000, **{"metadata[order_id]": "6736"})
    await merchant.post(f"/v1/payment_intents/{b['id']}/cancel")

    async def ids(query: str, **extra: Any) -> list[str]:
        response = await merchant.get("/v1/payment_intents/search", {"query": query, **extra})
        assert response.status_code == 200, response.text
        assert response.json()["object"] == "search_result"
        return [p["id"] for p in response.json()["data"]]

    assert await ids("metadata['order_id']:'6735'") == [a["id"]]
    assert await ids("status:'canceled'") == [b["id"]]
    assert await ids("amount>5000 AND status:'canceled'") == [b["id"]]
    assert await ids("amount<5000 OR status:'canceled'") == [b["id"], a["id"]]
    assert await ids("-status:'canceled' AND amount>=3000") == [a["id"]]
    page = (
        await merchant.get("/v1/payment_intents/search", {"query": "amount>0", "limit": 1})
    ).json()
    assert page["has_more"] is True
    assert page["next_page"]
    nxt = (
        await merchant.get(
            "/v1/payment_intents/search",
            {"query": "amount>0", "limit": 1, "page": page["next_page"]},
        )
    ).json()
    assert nxt["data"][0]["id"] == a["id"]
    assert nxt["has_more"] is False
    assert nxt["next_page"] is None
    bad = await merchant.get("/v1/payment_intents/search", {"query": "colour:'red'"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "query"


async def test_expiry_sweep_cancels_unpaid(app: Any, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    confirmed = await merchant.create_intent(confirm="true")
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            update(PaymentIntent)
            .where(PaymentIntent.id.in_([pi["id"], confirmed["id"]]))
            .values(expires_at=int(time.time()) - 1)
        )
    late = await merchant.post(f"/v1/payment_intents/{pi['id']}/confirm")
    assert late.status_code == 400
    assert late.json()["error"]["code"] == "payment_intent_expired"
    await run_once(app.state.gateway)
    for intent in (pi, confirmed):
        swept = (await merchant.get(f"/v1/payment_intents/{intent['id']}")).json()
        assert swept["status"] == "canceled"
        assert swept["cancellation_reason"] == "expired"
    events = (await merchant.get("/v1/events", {"type": "payment_intent.canceled"})).json()["data"]
    assert {e["data"]["object"]["id"] for e in events} == {pi["id"], confirmed["id"]}
    assert all(e["request"]["id"] is None for e in events)


async def test_event_filters(merchant: Merchant) -> None:
    await merchant.create_intent(confirm="true")
    created = (await merchant.get("/v1/events", {"type": "payment_intent.created"})).json()["data"]
    assert [e["type"] for e in created] == ["payment_intent.created"]
    both = (
        await merchant.get(
            "/v1/events",
            {"types[0]": "payment_intent.created", "types[1]": "payment_intent.requires_action"},
        )
    ).json()
    assert len(both["data"]) == 2
    wildcard = (await merchant.get("/v1/events", {"type": "payment_intent.*"})).json()
    assert len(wildcard["data"]) == 2
    unknown = await merchant.get("/v1/events", {"type": "charge.captured"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "type"
    future = (await merchant.get("/v1/events", {"created[gt]": int(time.time()) + 60})).json()
    assert future["data"] == []
    missing = await merchant.get("/v1/events/evt_nope")
    assert missing.status_code == 404


async def test_wire_headers(client: httpx.AsyncClient, merchant: Merchant) -> None:
    response = await client.get(
        "/v1/account", headers=merchant.headers(**{"Stripe-Version": "2026-10-28.endive"})
    )
    assert response.headers["request-id"].startswith("req_")
    assert response.headers["stripe-version"] == "2026-10-28.endive"
    connect = await client.get(
        "/v1/account", headers=merchant.headers(**{"Stripe-Account": "acct_x"})
    )
    assert connect.status_code == 400
    assert connect.json()["error"]["param"] == "Stripe-Account"
    assert connect.headers["request-id"].startswith("req_")
    unknown = await client.get("/v1/customers")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    assert unknown.headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/payment_intents", {"created[gte]": "2179621659724739417997312"}),
        ("/v1/payment_intents", {"created": "-1"}),
        ("/v1/events", {"created[lt]": str(10**20)}),
        ("/v1/settlements", {"created[gte]": "253402300800"}),
        ("/v1/settlements/export", {"created": "2179621659724739417997312"}),
    ],
)
async def test_timestamps_out_of_range_are_400_with_param(
    merchant: Merchant, path: str, params: dict[str, str]
) -> None:
    """Found by schemathesis: a huge `created` overflowed datetime (500). Now a 400 naming it."""
    response = await merchant.get(path, params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"].startswith("created")


async def test_an_empty_created_filter_means_no_filter(merchant: Merchant) -> None:
    """`created=` (empty, the Stripe way of unsetting) was a 500 on /v1/events (schemathesis)."""
    for path in ("/v1/events", "/v1/payment_intents", "/v1/settlements"):
        response = await merchant.get(path, {"created": ""})
        assert response.status_code == 200, (path, response.text)
