"""Dataset uploads stream to disk in chunks and stop at settings.DATASET_UPLOAD_MAX_BYTES with a 413.

The middleware handles the upload routes only (the API's and the import page's), before anything else reads
the body (the CSRF check reads request.POST, which parses the upload): it refuses a request whose
Content-Length is already over the limit without reading it, else installs DatasetFileHandler, which writes
the file part to DATASET_IMPORTS_DIR and stops counting past the limit. Nothing large is held in memory. A
file the view does not keep (moved away) is deleted when the response is made.
"""

import re
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from studio.errors import StudioError

UPLOAD_PATHS = re.compile(r"^/(v1/datasets/[^/]+/imports|o/[^/]+/datasets/import/)$")
MULTIPART_SLACK = 64 * 1024  # the form's other fields and boundaries, beside the file itself
FILE_FIELD = "file"


class UploadTooLarge(StudioError):
    status_code = 413


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def too_large_message(limit: int) -> str:
    return f"the file is larger than the upload limit of {human_bytes(limit)} ({limit:,} bytes); split it, or ask an admin to raise DATASET_UPLOAD_MAX_BYTES"


def upload_dir() -> Path:
    path = Path(settings.DATASET_IMPORTS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


class DiskUpload(UploadedFile):
    """The uploaded file, already on disk at `.path` (the view moves it where it belongs)."""

    def __init__(self, path: Path, name: str, content_type: str, size: int):
        super().__init__(file=open(path, "rb"), name=name, content_type=content_type, size=size)
        self.path = path

    def temporary_file_path(self) -> str:
        return str(self.path)


class DatasetFileHandler(FileUploadHandler):
    chunk_size = 1 << 20

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit, self.size, self.too_large, self.path = limit, 0, False, None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if field_name != FILE_FIELD or self.path is not None:
            raise SkipFile()  # one file, in the field named "file"
        self.path = upload_dir() / f"incoming-{uuid.uuid4().hex}.part"
        self.file = open(self.path, "wb")  # `file`: the parser closes it when it stops early

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > self.limit:
            self.too_large = True
            self.cleanup()
            raise StopUpload(connection_reset=True)  # read no more of it
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.file.close()
        return DiskUpload(self.path, self.file_name, self.content_type, file_size)

    def upload_interrupted(self):
        self.cleanup()

    def cleanup(self) -> None:
        if self.path is not None:
            if getattr(self, "file", None) is not None:
                self.file.close()
            self.path.unlink(missing_ok=True)


def kept_upload_path(upload) -> Path:
    """Where the uploaded file is on disk. One that came through another handler (a route the middleware does
    not know) is copied there in chunks, under the same limit."""
    if isinstance(upload, DiskUpload):
        return upload.path
    limit = settings.DATASET_UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise UploadTooLarge(too_large_message(limit))
    path = upload_dir() / f"incoming-{uuid.uuid4().hex}.part"
    with open(path, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _refuse(request, status: int, message: str):
    if request.path_info.startswith("/v1/"):
        return JsonResponse({"detail": message}, status=status)
    if request.headers.get("HX-Request"):
        return render(request, "datasets/partials/upload_error.html", {"message": message}, status=status)
    return render(request, "error.html", {"error": StudioError(message) if status != 413 else UploadTooLarge(message)}, status=status)


class DatasetUploadMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or not UPLOAD_PATHS.match(request.path_info) or not request.content_type.startswith("multipart/"):
            return self.get_response(request)
        limit = settings.DATASET_UPLOAD_MAX_BYTES
        if _content_length(request) > limit + MULTIPART_SLACK:
            return _refuse(request, 413, too_large_message(limit))  # the body is never read
        handler = DatasetFileHandler(request, limit)
        request.upload_handlers = [handler]
        try:
            try:
                request.POST  # parse now: the file streams through the handler
            except MultiPartParserError as exc:
                return _refuse(request, 400, f"the upload could not be read: {exc}")
            if handler.too_large:
                return _refuse(request, 413, too_large_message(limit))
            return self.get_response(request)
        finally:
            handler.cleanup()  # whatever the view did not keep
