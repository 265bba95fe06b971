"""A merchant's page on its own origin, with the gateway's widget — copy and adapt.

    python examples/widget/server.py --gateway http://127.0.0.1:8000 \
        --secret-key sk_test_… --publishable-key pk_test_… [--port 4242]

Each visit of http://127.0.0.1:4242/ creates a PaymentIntent from the server side (the secret
key never reaches the browser) and serves index.html with its client secret and the
publishable key filled in. Standard library only.
"""

from __future__ import annotations

import argparse
import html
import json
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = Path(__file__).with_name("index.html")


def create_intent(gateway: str, secret_key: str, amount: int = 25_000) -> dict[str, object]:
    body = f"amount={amount}&currency=sbtc&description=A+very+good+mug".encode()
    request = urllib.request.Request(  # noqa: S310 (the gateway URL is the operator's)
        f"{gateway}/v1/payment_intents",
        data=body,
        headers={"Authorization": f"Bearer {secret_key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        intent: dict[str, object] = json.load(response)
        return intent


def make_server(
    gateway: str, secret_key: str, publishable_key: str, port: int = 4242, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path not in ("/", "/index.html"):
                self.send_error(404)
                return
            intent = create_intent(gateway, secret_key)
            page = (
                PAGE.read_text()
                .replace("{{GATEWAY}}", html.escape(gateway))
                .replace("{{CLIENT_SECRET}}", html.escape(str(intent["client_secret"])))
                .replace("{{PUBLISHABLE_KEY}}", html.escape(publishable_key))
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--publishable-key", required=True)
    parser.add_argument("--port", type=int, default=4242)
    args = parser.parse_args()
    server = make_server(args.gateway, args.secret_key, args.publishable_key, args.port)
    print(f"the example shop: http://127.0.0.1:{args.port}/  (Ctrl-C stops)")
    server.serve_forever()


if __name__ == "__main__":
    main()
