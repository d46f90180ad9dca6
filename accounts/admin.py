"""Django admin for platform staff; department-owned rows are listed through the tenancy scope."""

from django.contrib import admin

from accounts.models import ApiToken, AuditAnchor, AuditEvent, Department, Membership


class DepartmentScopedAdmin(admin.ModelAdmin):
    """Base admin for department-owned models: rows come from `for_user`, the one tenancy rule."""

    def get_queryset(self, request):
        return self.model.objects.for_user(request.user).select_related("department")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "storage_quota_bytes", "max_concurrent_items", "monthly_output_minutes"]
    list_filter = ["active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(DepartmentScopedAdmin):
    list_display = ["user", "department", "role", "created_at"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "department__name"]
    autocomplete_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["key_hint", "user", "name", "read_only", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["read_only"]
    search_fields = ["user__username", "name", "key_hint"]
    readonly_fields = ["key_hash", "key_hint", "last_used_at"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may read the audit trail here; nobody adds, changes or deletes it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, DepartmentScopedAdmin):
    list_display = ["seq", "created_at", "actor_username", "department", "action", "object_type", "object_id",
                    "object_repr", "ip"]
    list_filter = ["action", "department"]
    search_fields = ["actor_username", "object_repr", "object_id", "request_id"]
    date_hierarchy = "created_at"


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    list_display = ["seq", "pruned_through", "pruned_count", "created_at", "hash"]
