"""Staff admin for batches and items (scoped through the tenancy rule like every department-owned admin)."""

from django.contrib import admin

from accounts.admin import DepartmentScopedAdmin
from jobs.models import BatchJob, JobItem


class JobItemInline(admin.TabularInline):
    model = JobItem
    extra = 0
    fields = ["presenter", "status", "progress", "stage", "attempts", "requeues", "error", "worker_name"]
    readonly_fields = fields
    can_delete = False


@admin.register(BatchJob)
class BatchJobAdmin(DepartmentScopedAdmin):
    list_display = ["pk", "department", "audio", "backend", "status", "creator", "created_at"]
    list_filter = ["status", "backend", "department"]
    inlines = [JobItemInline]
    readonly_fields = ["status", "started_at", "finished_at", "canceled_at"]


@admin.register(JobItem)
class JobItemAdmin(DepartmentScopedAdmin):
    list_display = ["pk", "batch", "presenter", "status", "progress", "attempts", "requeues", "worker_name"]
    list_filter = ["status", "department"]
    readonly_fields = ["traceback", "quality", "timings", "rq_job_id"]
