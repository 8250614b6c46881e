from django.contrib import admin

from shebao.accounts.models import User
from shebao.core.admin_readonly import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["username", "kind", "display_name", "unit", "is_active", "is_unit_admin"]
    list_filter = ["kind", "is_active"]
    exclude = ["password", "totp_secret"]
