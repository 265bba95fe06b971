"""Static assets (`/static/…`, from SBTC_STATIC_DIR: the image's web build) with cache headers a
CDN can honour.

A file whose name carries a content hash (`app.3f9a1c2e.js`, what Vite and esbuild write, or
`fingerprint` below) never changes under that name: `Cache-Control: public, max-age=31536000,
immutable`. Any other file (an `index.html` naming the hashed ones, a manifest) must be
revalidated on every use: `no-cache` with an ETag, answered 304 when it matches. The rule
depends on names only, so it holds for whatever the web build produces. Paths are resolved
inside the directory (no `..`, no symlinks out of it).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import shutil
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response

HASHED = re.compile(r"[.-][0-9a-fA-F]{8,64}\.[A-Za-z0-9]+$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def is_hashed(name: str) -> bool:
    return bool(HASHED.search(name))


def cache_control(name: str) -> str:
    return IMMUTABLE if is_hashed(name) else REVALIDATE


def resolve(root: Path, path: str) -> Path | None:
    """The file `path` names inside `root`, or None (missing, a directory, or outside)."""
    base = root.resolve()
    try:
        target = (base / path).resolve()
    except (OSError, ValueError):
        return None
    if base not in target.parents or not target.is_file():
        return None
    return target


def _etag(file: Path) -> str:
    stat = file.stat()
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def serve(root: Path | None, path: str, request: Request) -> Response:
    file = resolve(root, path) if root is not None else None
    if file is None:
        raise HTTPException(404)
    etag = _etag(file)
    headers = {"Cache-Control": cache_control(file.name), "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return FileResponse(file, media_type=media_type, headers=headers)


def fingerprint(source: Path, target: Path) -> dict[str, str]:
    """Copy every file of `source` to `target` under a content-hashed name (files already
    hashed keep theirs) and write `manifest.json` (original name → hashed name)."""
    manifest: dict[str, str] = {}
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = file.relative_to(source)
        if is_hashed(file.name):
            name = relative
        else:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
            name = relative.with_name(f"{file.stem}.{digest}{file.suffix}")
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target / name)
        manifest[relative.as_posix()] = name.as_posix()
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest
