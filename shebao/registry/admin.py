from django.contrib import admin

from shebao.core.admin_readonly import ReadOnlyAdmin
from shebao.registry.models import Enrolment, Person, RosterEntry, Unit


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin):
    list_display = ["unit_no", "name", "uscc", "unit_type", "region", "status", "is_vip"]
    search_fields = ["unit_no", "name", "uscc"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["person_no", "name", "masked_id_number"]
    search_fields = ["person_no", "name"]
    exclude = ["id_number"]


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    list_display = ["person", "unit", "insurance_type", "start_period", "stop_period", "status"]
    list_select_related = ["person", "unit"]


@admin.register(RosterEntry)
class RosterEntryAdmin(ReadOnlyAdmin):
    list_display = ["unit", "person_no", "name", "is_open", "type_mask", "start_period", "status"]
    list_select_related = ["unit"]
    exclude = ["id_number"]
