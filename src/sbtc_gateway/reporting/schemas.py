"""Report run parameters (Stripe's `reporting.report_run`) and the objects."""

from __future__ import annotations

from typing import Annotated, Any

from sbtc_gateway.core.params import OptInt, OptStr, OptTimestamp, Params, StrList, Text
from sbtc_gateway.reporting.models import ReportRun, StoredFile


class RunParameters(Params):
    interval_start: OptTimestamp = None
    interval_end: OptTimestamp = None
    timezone: Annotated[str | None, Text(64)] = None
    currency: Annotated[str | None, Text(8)] = None
    columns: StrList = []


class ReportRunCreateParams(Params):
    report_type: Annotated[str, Text(64)]
    parameters: RunParameters | None = None
    expand: StrList = []


class ListParams(Params):
    limit: OptInt = None
    starting_after: OptStr = None
    ending_before: OptStr = None
    expand: StrList = []


class RetrieveParams(Params):
    expand: StrList = []


RUN_FIELDS = ["id", "object", "created", "error", "livemode", "parameters", "report_type",
              "result", "status", "succeeded_at"]  # fmt: skip
FILE_FIELDS = ["id", "object", "created", "expires_at", "filename", "links", "purpose", "size",
               "title", "type", "url"]  # fmt: skip


def render_file(f: StoredFile, base_url: str) -> dict[str, Any]:
    return {
        "id": f.id,
        "object": "file",
        "created": f.created,
        "expires_at": f.expires_at,
        "filename": f.filename,
        "links": None,
        "purpose": f.purpose,
        "size": f.size,
        "title": f.title,
        "type": f.type,
        "url": f"{base_url}/v1/files/{f.id}/contents",
    }


def render_run(run: ReportRun, file: StoredFile | None, base_url: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "object": "reporting.report_run",
        "created": run.created,
        "error": run.error,
        "livemode": run.livemode,
        "parameters": dict(run.parameters),
        "report_type": run.report_type,
        "result": render_file(file, base_url) if file is not None else None,
        "status": run.status,
        "succeeded_at": run.succeeded_at,
    }
