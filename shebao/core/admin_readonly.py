"""Django admin is for superusers' inspection only (DESIGN rule 10): business models are
read-only there; every change goes through the services and the back office."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
