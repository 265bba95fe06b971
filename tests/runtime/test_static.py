"""Static assets: content-hashed names are cached for a year (immutable), everything else is
revalidated (ETag, 304); nothing outside the directory is served. Generic: it does not depend
on what the web build (web/) produces, only on its file names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sbtc_gateway.runtime.static import IMMUTABLE, fingerprint, is_hashed
from tests.conftest import make_settings


def test_hashed_names() -> None:
    assert is_hashed("app.3f9a1c2e.js")
    assert is_hashed("index-BfG3kq9a.css") is False  # base64 hashes are not hex: revalidated
    assert is_hashed("chunk-3f9a1c2e8d.js")
    assert not is_hashed("index.html")
    assert not is_hashed("logo.svg")


async def test_serving_rules(make_instance: Any, tmp_path: Path) -> None:
    source, built = tmp_path / "src", tmp_path / "dist"
    (source / "img").mkdir(parents=True)
    (source / "checkout.js").write_text("console.log('pay')")
    (source / "img" / "logo.svg").write_text("<svg/>")
    (source / "index.html").write_text("<!doctype html>")
    manifest = fingerprint(source, built)
    (built / "index.html").write_text("<!doctype html>")
    (tmp_path / "secret.txt").write_text("not an asset")
    db = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    from sbtc_gateway.db.migrate import upgrade

    await upgrade(db)
    client = (await make_instance(make_settings(db, tmp_path, static_dir=built))).client

    hashed = await client.get(f"/static/{manifest['checkout.js']}")
    assert hashed.status_code == 200
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert is_hashed(manifest["img/logo.svg"].rsplit("/", 1)[1])
    assert json.loads((built / "manifest.json").read_text()) == manifest

    page = await client.get("/static/index.html")
    assert page.headers["cache-control"] == "no-cache"
    again = await client.get("/static/index.html", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304

    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/img",
                 "/static/missing.js"):  # fmt: skip
        refused = await client.get(path)
        assert refused.status_code == 404, path
        assert refused.json()["error"]["code"] == "resource_missing"


async def test_no_static_directory_serves_nothing(client: Any) -> None:
    assert (await client.get("/static/app.js")).status_code == 404
    nul = await client.get("/static/app%00.js")  # the routers' path check applies here too
    assert nul.status_code == 400
    assert nul.json()["error"]["code"] == "parameter_invalid_string"
