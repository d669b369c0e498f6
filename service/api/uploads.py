"""Multipart uploads read by the route itself, after the key check, never by FastAPI.

FastAPI parses ``File``/``Form`` parameters before it runs a route's dependencies, so a
client without a key could make the server spool a body of any size to /tmp. Here the
route first passes ``require("ingest")``, then streams the body through this parser:

- the whole body is capped at ``max_files`` PDFs of ``max_file_bytes`` plus
  ``FORM_ALLOWANCE`` for the form's headers and fields: a larger ``Content-Length`` is
  refused (413) before a byte is read, a chunked body is cut off (413) when it passes it;
- file parts are written under the uploads folder (``<home>/uploads/.spool``), and a
  file past ``max_file_bytes`` stops being written and is reported as too large;
- whatever was spooled is removed when the request ends, however it ends (success,
  refusal, client gone, error): an accepted file is moved out of the spool first.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

MAX_FILES_PER_UPLOAD = 10
FORM_ALLOWANCE = 1024 * 1024  # part headers, tags and the ocr flag
MAX_FIELD_BYTES = 64 * 1024  # one form field (a tag, the ocr flag)


def upload_cap(max_file_bytes: int, max_files: int = MAX_FILES_PER_UPLOAD) -> int:
    """The largest request body ``POST /v1/documents`` accepts."""
    return max_file_bytes * max_files + FORM_ALLOWANCE


@dataclass
class SpooledFile:
    file_name: str
    path: Path
    size: int = 0
    too_large: bool = False


@dataclass
class UploadForm:
    files: list[SpooledFile] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)


class _FormReader:
    """python-multipart callbacks writing file parts to the spool folder."""

    def __init__(self, folder: Path, *, max_file_bytes: int, max_files: int):
        self.folder, self.max_file_bytes, self.max_files = folder, max_file_bytes, max_files
        self.form = UploadForm()
        self.out: IO[bytes] | None = None
        self.current: SpooledFile | None = None
        self.field_name = ""
        self.field_value = bytearray()
        self.header_name = self.header_value = b""
        self.disposition = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value_part,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.current, self.disposition = None, b""
        self.field_name, self.field_value = "", bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_value_part(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise _bad("a multipart part without a name in its Content-Disposition")
        self.field_name = options[b"name"].decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if self.field_name != "files":
            raise _bad(f"a file sent as {self.field_name!r}: send PDFs as 'files' parts")
        if len(self.form.files) >= self.max_files:
            raise _bad(f"more than {self.max_files} files in one upload")
        name = options[b"filename"].decode("utf-8", "replace")
        self.current = SpooledFile(name, self.folder / f"{len(self.form.files)}.part")
        self.form.files.append(self.current)
        # Closed at the part's end, or by spooled_upload's exit however parsing stops.
        self.out = open(self.current.path, "wb")  # noqa: SIM115

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current is None:
            if len(self.field_value) + end - start > MAX_FIELD_BYTES:
                raise _bad(f"form field {self.field_name!r} longer than {MAX_FIELD_BYTES} bytes")
            self.field_value += data[start:end]
            return
        self.current.size += end - start
        if self.current.size > self.max_file_bytes:
            self.current.too_large = True
            self.close_file()  # the rest of this part is read and dropped
        elif self.out is not None:
            self.out.write(data[start:end])

    def part_end(self) -> None:
        if self.current is None:
            value = self.field_value.decode("utf-8", "replace")
            self.form.fields.setdefault(self.field_name, []).append(value)
        self.close_file()

    def close_file(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None


def _bad(detail: str) -> HTTPException:
    return HTTPException(status_code=400, detail=f"malformed upload: {detail}")


def _too_large(cap: int) -> HTTPException:
    return HTTPException(
        status_code=413,
        detail=f"upload larger than {cap} bytes: at most {MAX_FILES_PER_UPLOAD} PDFs of "
        "CLINSYNTH_MAX_PDF_BYTES each per request",
    )


@asynccontextmanager
async def spooled_upload(
    request: Request, spool: Path, *, max_file_bytes: int, max_files: int = MAX_FILES_PER_UPLOAD
) -> AsyncIterator[UploadForm]:
    """The request's multipart form, its files spooled under ``spool``; removed on exit."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise HTTPException(
            status_code=415,
            detail="send the upload as multipart/form-data with one 'files' part per PDF",
        )
    cap = upload_cap(max_file_bytes, max_files)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    folder = spool / uuid.uuid4().hex
    folder.mkdir(parents=True)
    reader = _FormReader(folder, max_file_bytes=max_file_bytes, max_files=max_files)
    try:
        parser = MultipartParser(params[b"boundary"], reader.callbacks())  # type: ignore[arg-type]
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap:
                raise _too_large(cap)
            parser.write(chunk)
        parser.finalize()
        reader.close_file()
        yield reader.form
    except FormParserError as exc:
        raise _bad(str(exc) or "invalid multipart data") from exc
    except ClientDisconnect as exc:  # nobody reads the answer; the spool still goes
        raise HTTPException(status_code=400, detail="client left during the upload") from exc
    finally:
        reader.close_file()
        shutil.rmtree(folder, ignore_errors=True)
