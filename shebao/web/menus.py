"""The menus of the three halls. Each entry: (label, url name, business kind needed or None)."""

UNIT_MENU = [
    ("首页", "unit:home", None),
    ("单位基本信息", "unit:info", None),
    ("操作员管理", "unit:operators", "admin"),
]

PERSON_MENU = [
    ("首页", "person:home", None),
]

STAFF_MENU = [
    ("首页", "staff:home", None),
    ("待审核业务", "staff:queue", None),
    ("参保单位", "staff:units", None),
    ("审计日志", "staff:audit", None),
]
