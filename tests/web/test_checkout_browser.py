"""The hosted checkout and the widget in headless Chromium, against a running gateway (API,
worker, watcher) and the run's devnet, paid by a test wallet injected where @stacks/connect
looks for wallets. Screenshots go to docs/screenshots/ (look at them)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import update

from sbtc_gateway.db.engine import make_engine
from sbtc_gateway.payments.models import PaymentIntent
from tests.conftest import free_port
from tests.web.conftest import (
    BROWSER_MARKS,
    PHONE,
    SCREENSHOTS,
    GatewayServer,
    Shop,
    mine_until,
    run_async,
)
from tests.webhooks.receiver import Receiver

pytestmark = BROWSER_MARKS

TIMEOUT = 30_000  # ms, for page expectations


def checkout_url(shop: Shop, pi: dict[str, Any]) -> str:
    """The hosted checkout link a merchant hands out: the intent id in the path, its client
    secret in the fragment (as `next_action.redirect_to_url.url` is once confirmed)."""
    return f"{shop.url}/checkout/{pi['id']}#{pi['client_secret']}"


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_a_full_payment_from_the_page_to_succeeded_with_its_webhook_and_receipt_email(
    open_page: Any, shop: Shop, gateway_server: GatewayServer, web_chain: Any, smtp: Any
) -> None:
    with Receiver() as receiver:
        shop.post("/v1/webhook_endpoints", {"url": receiver.url, "enabled_events[0]": "*"})
        email = f"buyer-{int(time.time() * 1000)}@example.com"
        pi = shop.intent(receipt_email=email, confirm="true")
        # the link the merchant's server got back: next_action.redirect_to_url
        url = pi["next_action"]["redirect_to_url"]["url"]
        assert url == checkout_url(shop, pi)
        p = open_page()
        seen_call: list[dict[str, Any]] = []
        p.wallet.before_sign = lambda params: seen_call.append(
            shop.get(f"/v1/payment_intents/{pi['id']}")["next_action"]["sbtc_contract_call"]
        )
        p.page.goto(url)
        pay = p.page.get_by_role("button", name="Pay with wallet")
        expect(pay).to_be_visible(timeout=TIMEOUT)
        expect(p.page.get_by_role("heading", name="Mugs & Co.")).to_be_visible()
        expect(p.page.get_by_text("0.00025000 sBTC").first).to_be_visible()
        expect(p.page.get_by_text("25,000 sats")).to_be_visible()
        expect(p.page.get_by_role("img", name="QR code of this payment page")).to_be_visible()
        assert p.axe() == []
        shot(p.page, "checkout-desktop.png")

        # the wallet code (@stacks/connect and its picker) is fetched only when asked for
        assert not [u for u in p.requests if "/assets/wallet-" in u]
        pay.click()
        expect(p.page.get_by_text(re.compile("Transaction sent|Payment sent"))).to_be_visible(
            timeout=TIMEOUT
        )
        assert [u for u in p.requests if "/assets/wallet-" in u]
        # the wallet was asked to sign exactly the intent's call, with the connected payer
        (params,) = p.wallet.calls
        call = seen_call[0]
        assert params["contract"] == call["contract_id"]
        assert params["functionName"] == call["function_name"] == "pay-signed-intent"
        assert params["functionArgs"] == call["function_args"]
        assert params["postConditions"] == call["post_conditions"]
        assert params["postConditionMode"] == "deny"
        assert call["payer"] == web_chain.payer

        mine_until(web_chain, lambda: shop.status(pi["id"]) == "succeeded")
        expect(p.page.get_by_text("Paid — thank you")).to_be_visible(timeout=TIMEOUT)
        txid = p.wallet.txids[0]
        expect(p.page.get_by_text(txid[:8], exact=False).first).to_be_visible()
        shot(p.page, "checkout-succeeded-desktop.png")
        assert p.foreign_requests(gateway_server.url) == [], p.requests

        # the merchant's webhook, signed, delivered by the worker
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            types = [r.body for r in receiver.requests]
            if any(b'"payment_intent.succeeded"' in b and pi["id"].encode() in b for b in types):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("no payment_intent.succeeded webhook")

    # the receipt e-mail, sent by the worker from the outbox to the SMTP server
    deadline = time.monotonic() + 30
    while not smtp.to(email) and time.monotonic() < deadline:
        time.sleep(0.2)
    (mail,) = smtp.to(email)
    text = mail.get_content()
    assert mail["Subject"] == "Your receipt from Mugs & Co."
    assert "0.00025000 sBTC (25,000 sats)" in text
    assert txid.removeprefix("0x") in text
    link = re.search(r"Receipt: (\S+)", text)
    assert link is not None
    assert link.group(1) == (f"{shop.url}/receipts/{pi['id']}#{pi['client_secret']}")
    # the public receipt page it links to
    p.page.goto(link.group(1))
    expect(p.page.get_by_role("heading", name="Receipt from Mugs & Co.")).to_be_visible(
        timeout=TIMEOUT
    )
    expect(p.page.get_by_text(web_chain.payer)).to_be_visible()
    assert p.axe() == []
    shot(p.page, "receipt-desktop.png")


def test_the_wallet_refusing_then_a_retry_that_pays(
    open_page: Any, shop: Shop, web_chain: Any
) -> None:
    pi = shop.intent()
    p = open_page()
    p.wallet.refuse = True
    p.page.goto(checkout_url(shop, pi))
    p.page.get_by_role("button", name="Pay with wallet").click(timeout=TIMEOUT)
    expect(p.page.get_by_text("The wallet did not sign")).to_be_visible(timeout=TIMEOUT)
    expect(p.page.get_by_text("Nothing was sent")).to_be_visible()
    assert shop.status(pi["id"]) == "requires_action"  # confirmed, nothing paid
    # the customer changes their mind: the retry confirms again and pays
    p.wallet.refuse = False
    p.page.get_by_role("button", name="Try again").click()
    expect(p.page.get_by_text(re.compile("Transaction sent|Payment sent"))).to_be_visible(
        timeout=TIMEOUT
    )
    assert len(p.wallet.calls) == 2
    mine_until(web_chain, lambda: shop.status(pi["id"]) == "succeeded")
    expect(p.page.get_by_text("Paid — thank you")).to_be_visible(timeout=TIMEOUT)


def test_a_payment_failing_on_chain_is_said_in_plain_words_and_a_retry_pays(
    open_page: Any, shop: Shop, web_chain: Any
) -> None:
    pi = shop.intent()
    p = open_page()
    p.wallet.tamper_amount = 25_001  # the wallet signs something else: it aborts on chain
    p.page.goto(checkout_url(shop, pi))
    p.page.get_by_role("button", name="Pay with wallet").click(timeout=TIMEOUT)
    expect(p.page.get_by_text(re.compile("Transaction sent|Payment sent"))).to_be_visible(
        timeout=TIMEOUT
    )
    mine_until(
        web_chain,
        lambda: shop.get(f"/v1/payment_intents/{pi['id']}")["last_payment_error"] is not None,
    )
    expect(p.page.get_by_text("Your wallet sent a different transfer")).to_be_visible(
        timeout=TIMEOUT
    )
    expect(p.page.get_by_text("No sBTC left your wallet", exact=False)).to_be_visible()
    expect(p.page.get_by_text("Details: The payment broke its post-conditions.")).to_be_visible()
    shot(p.page, "checkout-failed-desktop.png")
    p.page.get_by_role("button", name="Try again").click()
    expect(p.page.get_by_text(re.compile("Transaction sent|Payment sent"))).to_be_visible(
        timeout=TIMEOUT
    )
    mine_until(web_chain, lambda: shop.status(pi["id"]) == "succeeded")
    expect(p.page.get_by_text("Paid — thank you")).to_be_visible(timeout=TIMEOUT)
    assert len(p.wallet.calls) == 2


def test_too_small_a_balance_is_said_before_the_wallet_signs(
    open_page: Any, shop: Shop, web_chain: Any
) -> None:
    pi = shop.intent()
    p = open_page(key=web_chain.poor_payer_key, address=web_chain.poor_payer)
    p.page.goto(checkout_url(shop, pi))
    p.page.get_by_role("button", name="Pay with wallet").click(timeout=TIMEOUT)
    warning = p.page.get_by_role("alert")
    expect(warning).to_contain_text("Your wallet may not have enough", timeout=TIMEOUT)
    expect(warning).to_contain_text("this payment needs 25,000 sats")
    assert p.wallet.calls == []  # never asked to sign
    assert p.axe() == []
    shot(p.page, "checkout-low-balance-desktop.png")
    p.page.get_by_role("button", name="I will top up first").click()
    expect(p.page.get_by_role("button", name="Pay with wallet")).to_be_visible()


def test_expiry_while_the_page_is_open(
    open_page: Any, shop: Shop, web_settings: Any, gateway_server: GatewayServer
) -> None:
    pi = shop.intent()
    p = open_page()
    p.page.goto(checkout_url(shop, pi))
    expect(p.page.get_by_role("button", name="Pay with wallet")).to_be_visible(timeout=TIMEOUT)

    async def expire_soon() -> None:
        engine = make_engine(web_settings.resolved_database_url)
        async with engine.begin() as conn:
            await conn.execute(
                update(PaymentIntent)
                .where(PaymentIntent.id == pi["id"])
                .values(expires_at=int(time.time()) + 3)
            )
        await engine.dispose()

    run_async(expire_soon)
    # the server's clock runs out, then the worker's sweep cancels it (reason: expired)
    expect(p.page.get_by_text("This payment request expired")).to_be_visible(timeout=TIMEOUT)
    expect(p.page.get_by_role("button", name="Pay with wallet")).to_have_count(0)
    assert shop.get(f"/v1/payment_intents/{pi['id']}")["cancellation_reason"] == "expired"


def test_a_cancel_by_the_merchant_while_the_page_is_open(open_page: Any, shop: Shop) -> None:
    pi = shop.intent()
    p = open_page()
    p.page.goto(checkout_url(shop, pi))
    expect(p.page.get_by_role("button", name="Pay with wallet")).to_be_visible(timeout=TIMEOUT)
    shop.post(f"/v1/payment_intents/{pi['id']}/cancel", {"cancellation_reason": "abandoned"})
    expect(p.page.get_by_text("This payment was canceled")).to_be_visible(timeout=TIMEOUT)
    expect(p.page.get_by_text("Nothing was charged", exact=False)).to_be_visible()
    expect(p.page.get_by_role("button", name="Pay with wallet")).to_have_count(0)


def test_a_reload_mid_payment_finds_its_transaction_and_return_url_follows_success(
    open_page: Any, shop: Shop, web_chain: Any
) -> None:
    return_url = f"{shop.url}/docs#thank-you"
    pi = shop.intent(return_url=return_url)
    p = open_page()
    p.page.goto(checkout_url(shop, pi))
    p.page.get_by_role("button", name="Pay with wallet").click(timeout=TIMEOUT)
    expect(p.page.get_by_text(re.compile("Transaction sent|Payment sent"))).to_be_visible(
        timeout=TIMEOUT
    )
    txid = p.wallet.txids[0]
    p.page.reload()
    # the same transaction, not a second offer to pay
    expect(p.page.get_by_text(re.compile("Transaction sent|Payment sent"))).to_be_visible(
        timeout=TIMEOUT
    )
    expect(p.page.get_by_text(txid.removeprefix("0x")[:8], exact=False).first).to_be_visible()
    expect(p.page.get_by_role("button", name="Pay with wallet")).to_have_count(0)
    mine_until(web_chain, lambda: shop.status(pi["id"]) == "succeeded")
    p.page.wait_for_url(return_url, timeout=TIMEOUT)
    assert len(p.wallet.calls) == 1


def test_the_phone_layout_has_no_horizontal_scroll_large_targets_and_no_axe_violations(
    open_page: Any, shop: Shop
) -> None:
    pi = shop.intent(description="Two very good mugs, one blue, one with a long name")
    p = open_page(viewport=PHONE)
    p.page.goto(checkout_url(shop, pi))
    pay = p.page.get_by_role("button", name="Pay with wallet")
    expect(pay).to_be_visible(timeout=TIMEOUT)
    width = p.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    box = pay.bounding_box()
    assert box is not None
    assert box["height"] >= 48, box  # a large tap target
    assert box["width"] >= 300, box
    assert p.axe() == []
    shot(p.page, "checkout-phone.png")
    # keyboard: Tab reaches the pay button, Enter presses it
    for _ in range(6):
        p.page.keyboard.press("Tab")
        if p.page.evaluate("() => document.activeElement?.textContent") == "Pay with wallet":
            break
    else:
        raise AssertionError("the pay button is not reachable with Tab")


def test_the_docs_and_error_pages_work_offline(
    open_page: Any, gateway_server: GatewayServer
) -> None:
    p = open_page()
    p.page.goto(f"{gateway_server.url}/docs")
    expect(p.page.get_by_role("heading", name="PaymentIntents")).to_be_visible(timeout=TIMEOUT)
    assert p.axe() == []
    p.page.goto(f"{gateway_server.url}/docs/errors#amount_too_small")
    expect(p.page.get_by_role("heading", name="amount_too_small")).to_be_visible(timeout=TIMEOUT)
    assert p.foreign_requests(gateway_server.url) == []


def test_the_widget_on_a_merchant_page_of_another_origin(
    open_page: Any, shop: Shop, web_chain: Any, gateway_server: GatewayServer
) -> None:
    from examples.widget.server import make_server

    port = free_port()
    # another origin: "localhost" is not "127.0.0.1" to a browser
    server = make_server(shop.url, shop.sk, shop.pk, port=port, host="127.0.0.1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        p = open_page()
        merchant_page = f"http://localhost:{port}/"
        p.page.goto(merchant_page)
        # a message from the host page itself, posing as the frame, is not believed
        p.page.evaluate(
            "() => window.postMessage({source: 'sbtc-checkout', type: 'succeeded'}, '*')"
        )
        p.page.get_by_role("button", name="Pay with sBTC").click(timeout=TIMEOUT)
        frame = p.page.frame_locator("iframe[title='sBTC checkout']")
        pay = frame.get_by_role("button", name="Pay with wallet")
        expect(pay).to_be_visible(timeout=TIMEOUT)
        log = p.page.locator("#log")
        expect(log).to_contain_text("ready", timeout=TIMEOUT)
        assert "succeeded" not in log.inner_text()
        shot(p.page, "widget-desktop.png")
        pay.click()
        try:
            expect(log).to_contain_text("processing", timeout=TIMEOUT)
        except AssertionError:
            raise AssertionError(f"no processing event; the frame's console: {p.console}") from None
        intent_id = _intent_of(p)
        mine_until(web_chain, lambda: shop.status(intent_id) == "succeeded")
        expect(log).to_contain_text("succeeded", timeout=TIMEOUT)
        expect(frame.get_by_text("Paid — thank you")).to_be_visible()
        # the frame asks the host to close it (and goes away mid-click)
        frame.get_by_role("button", name="Close").dispatch_event("click")
        expect(log).to_contain_text("closed", timeout=TIMEOUT)
        expect(p.page.locator("iframe")).to_have_count(0)
        allowed = (gateway_server.url, merchant_page.rstrip("/"))
        assert p.foreign_requests(*allowed) == [], p.requests

        # confirmPayment(): the promise resolves with the (already paid) intent
        p.page.get_by_role("button", name="Pay with confirmPayment()").click()
        expect(p.page.locator("iframe[title='sBTC checkout']")).to_be_visible(timeout=TIMEOUT)
        expect(log).to_contain_text(
            f'confirmPayment → {{"paymentIntent":{{"id":"{intent_id}","status":"succeeded"}}}}',
            timeout=TIMEOUT,
        )
        p.page.keyboard.press("Escape")
        expect(p.page.locator("iframe")).to_have_count(0)
    finally:
        server.shutdown()


def _intent_of(p: Any) -> str:
    match = re.search(r"/checkout/(pi_[0-9A-Za-z]+)", " ".join(p.requests))
    assert match, p.requests
    return match.group(1)
