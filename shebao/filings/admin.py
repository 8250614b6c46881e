from django.contrib import admin

from shebao.core.admin_readonly import ReadOnlyAdmin
from shebao.filings.models import Filing


@admin.register(Filing)
class FilingAdmin(ReadOnlyAdmin):
    list_display = ["serial_no", "kind", "state", "region", "unit", "submitted_at"]
    list_filter = ["kind", "state"]
    search_fields = ["serial_no"]
    exclude = ["payload"]
