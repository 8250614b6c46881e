"""The businesses a unit operator may be allowed to file (seed 004 权限): the filings floor holds
the list, so the registry, accounts and contributions can all name them."""

from django.db import models


class BusinessKind(models.TextChoices):
    """Business a unit operator may be allowed to file (seed 004 权限)."""

    ENROLMENT = "enrolment", "人员参保"
    STOP = "stop", "人员停保"
    TRANSFER = "transfer", "人员转移"
    PERSON_CHANGE = "person_change", "人员信息变更"
    PERSON_LOCK = "person_lock", "人员信息锁定"
    UNIT_CHANGE = "unit_change", "单位信息变更"
    WAGE = "wage", "缴费基数申报"
    SETTLEMENT = "settlement", "结算与缴费"
    BACK_PAY = "back_pay", "补缴"
    QUERY = "query", "查询打印"
