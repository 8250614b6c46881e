"""The filing workflow's pages: the unit hall's 待办/已办 (unit_patterns), the back office's review
queue and 审核规则 (staff_patterns) and the access-checked material files (public_patterns)."""

from django.urls import path

from shebao.filings import views as filings_views
from shebao.filings import views_unit as filings_unit_views

unit_patterns = [
    path("filings/todo/", filings_unit_views.todo, name="todo"),
    path("filings/done/", filings_unit_views.done, name="done"),
    path("filings/batch/", filings_unit_views.batch, name="filings_batch"),
    path("filings/<str:serial_no>/", filings_unit_views.detail, name="filing"),
    path("filings/<str:serial_no>/action/", filings_unit_views.action, name="filing_action"),
]

staff_patterns = [
    path("filings/", filings_views.queue, name="queue"),
    path("filings/approve/", filings_views.approve_many, name="approve_many"),
    path("filings/<str:serial_no>/", filings_views.review, name="review"),
    path("rules/", filings_views.region_rules, name="region_rules"),
]

public_patterns = [
    path("materials/<int:material_id>/", filings_views.material_file, name="material"),
]
