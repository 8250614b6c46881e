from django.contrib import admin

from shebao.core.admin_readonly import ReadOnlyAdmin
from shebao.core.models import AuditEntry, Region, SmsMessage


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "is_demo"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_label", "outcome"]
    list_filter = ["outcome"]
    search_fields = ["action", "object_id"]


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "purpose", "delivered"]
