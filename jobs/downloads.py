"""Output downloads shared by the web pages and the API: the streamed batch ZIP and one item's file.

The caller has already checked DOWNLOAD_OUTPUTS on the row; this module builds the response and records the
audit event, so both front ends behave (and audit) the same.
"""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse

from accounts import audit
from jobs.models import BatchJob, ItemStatus, JobItem
from jobs.zipstream import manifest_csv, stream_zip, unique_names
from portal.file_serving import serve_file


def is_downloadable(item: JobItem) -> bool:
    return item.status == ItemStatus.SUCCEEDED and bool(item.output)


def batch_zip_response(request, batch: BatchJob) -> StreamingHttpResponse:
    """Every finished output plus manifest.csv (one row per item, failed ones with their reason), streamed."""
    items = list(batch.items.select_related("presenter"))
    done = [i for i in items if is_downloadable(i)]
    names = dict(zip([i.pk for i in done], unique_names(i.output_name for i in done), strict=True))
    rows = [
        {
            "file": names.get(i.pk, ""),
            "presenter": i.presenter.title,
            "status": i.status,
            "duration_s": f"{i.output_duration:.2f}" if i.output_duration else "",
            "sync_score": f"{i.sync_score:.3f}" if i.sync_score is not None else "",
            "error": i.error,
        }
        for i in items
    ]
    audit.record("job.download_zip", actor=request.user, department=batch.department, obj=batch, request=request,
                 details={"items": [i.pk for i in done]})
    response = StreamingHttpResponse(
        stream_zip([(names[i.pk], i.output.path) for i in done], [("manifest.csv", manifest_csv(rows))]),
        content_type="application/zip",
    )
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}.zip"'
    return response


def item_download_response(request, item: JobItem) -> HttpResponse:
    """One finished output as an attachment (the caller made sure it is downloadable)."""
    audit.record("item.download", actor=request.user, department=item.department, obj=item, request=request)
    return serve_file(request, item.output, download_name=item.output_name, as_attachment=True,
                      content_type="video/mp4")
