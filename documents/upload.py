"""Reading a multipart/form-data upload as a stream.

The form's small fields are collected; the one file part is passed chunk by
chunk into an ``UploadSink`` (encrypt + stream to S3). Nothing but the current
chunk is held in memory. The size limit is enforced on the bytes received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header

from documents.storage import Storage
from documents.upload_stream import StoredFile, UploadSink
from portal.core import i18n
from portal.core.errors import DomainError

MAX_FIELD_BYTES = 64 * 1024
MULTIPART_SLACK = 1024 * 1024


class TooLarge(DomainError):
    """The file is larger than the upload limit."""

    status_code = 413
    code = "too_large"


class BadUpload(DomainError):
    """The upload could not be read."""

    status_code = 400
    code = "bad_upload"


def too_large(limit_mb: int) -> TooLarge:
    # Translated here (the request's locale is set) because the message carries the limit.
    return TooLarge(i18n.gettext("The file is larger than the upload limit of %(mb)s MB.") % {"mb": limit_mb},
                    mb=limit_mb)


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    file: StoredFile | None = None
    file_field: str = ""


async def receive_form(
    content_type: str,
    content_length: int | None,
    body: AsyncIterator[bytes],
    *,
    storage: Storage,
    tenant_id: int,
    data_key: bytes,
    file_field: str = "file",
    limit_mb: int | None = None,
) -> UploadForm:
    limit_mb = limit_mb or storage.settings.upload_max_mb
    max_bytes = limit_mb * 1024 * 1024
    if content_length is not None and content_length > max_bytes + MULTIPART_SLACK:
        raise too_large(limit_mb)
    mime, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise BadUpload("Send the file as a multipart/form-data form.")

    form = UploadForm(file_field=file_field)
    state = {"headers": {}, "header_field": b"", "header_value": b"", "name": None, "filename": None,
             "value": bytearray(), "is_file": False}
    out: list = []  # file chunks and markers produced by one parser.write()

    def on_part_begin():
        state.update(headers={}, name=None, filename=None, is_file=False, value=bytearray())

    def on_header_field(data, start, end):
        state["header_field"] += data[start:end]

    def on_header_value(data, start, end):
        state["header_value"] += data[start:end]

    def on_header_end():
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"] = state["header_value"] = b""

    def on_headers_finished():
        _, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        if b"filename" in opts and name == file_field:
            state["is_file"] = True
            state["filename"] = opts[b"filename"].decode("utf-8", "replace")
            out.append(("begin", state["filename"]))

    def on_part_data(data, start, end):
        if state["is_file"]:
            # The whole body chunk is file data most of the time: pass it on uncopied.
            out.append(("data", data if start == 0 and end == len(data) and type(data) is bytes
                        else bytes(data[start:end])))
        else:
            state["value"] += data[start:end]
            if len(state["value"]) > MAX_FIELD_BYTES:
                raise BadUpload("A form field is too long.")

    def on_part_end():
        if state["is_file"]:
            out.append(("end", None))
        elif state["name"] and state["name"] != file_field:
            form.fields[state["name"]] = state["value"].decode("utf-8", "replace")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    sink: UploadSink | None = None
    finished = False
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > max_bytes + MULTIPART_SLACK:
                raise too_large(limit_mb)
            try:
                parser.write(chunk)
            except DomainError:
                raise
            except Exception as exc:
                raise BadUpload("The upload could not be read.") from exc
            for event, value in out:
                if event == "begin":
                    if sink is not None or finished:
                        raise BadUpload("Send one file at a time.")
                    sink = UploadSink(storage, tenant_id, data_key, value or "", scan=True)
                elif event == "data":
                    await sink.write(value)
                    if sink.received > max_bytes:
                        raise too_large(limit_mb)
                elif event == "end":
                    if sink.received == 0 and not value:
                        await sink.abort()
                        sink = None
                        continue
                    form.file = await sink.finish()
                    sink, finished = None, True
            out.clear()
        parser.finalize()
    except BaseException:
        if sink is not None:
            await sink.abort()
        if form.file is not None:
            await storage.aremove(form.file.key, form.file.version_id)
            form.file = None
        raise
    if sink is not None:  # body ended inside the file part
        await sink.abort()
        raise BadUpload("The upload was cut off.")
    return form
