"""The menus of the three halls. Each entry: (label, url name, who may see it).

An entry whose URL name does not exist (yet) is left out rather than breaking every page."""

UNIT_MENU = [
    ("首页", "unit:home", None),
    ("待办业务", "unit:todo", None),
    ("已办业务", "unit:done", None),
    ("人员参保", "unit:enrolment_new", None),
    ("人员停保", "unit:stop_new", None),
    ("人员转移", "unit:transfer", None),
    ("信息变更", "unit:changes", None),
    ("参保职工名单", "unit:roster", None),
    ("缴费基数申报", "unit:wages", None),
    ("单位结算", "unit:settlement", None),
    ("补缴", "unit:backpay", None),
    ("社保应付", "unit:payable", None),
    ("单位基本信息", "unit:info", None),
    ("操作员管理", "unit:operators", "admin"),
]

PERSON_MENU = [
    ("首页", "person:home", None),
    ("缴费记录", "person:contributions", None),
    ("个人账户", "person:account", None),
    ("灵活就业", "person:flexible", None),
]

STAFF_MENU = [
    ("首页", "staff:home", None),
    ("待审核业务", "staff:queue", None),
    ("参保单位", "staff:units", None),
    ("人员锁定", "staff:person_lock", None),
    ("审核规则", "staff:region_rules", None),
    ("缴费参数", "staff:parameters", None),
    ("当期缴费核定", "staff:settlements", None),
    ("灵活人员核定", "staff:flexible", None),
    ("到账登记", "staff:payments", None),
    ("欠费查询", "staff:arrears", None),
    ("滞纳金试算", "staff:late_fee", None),
    ("审计日志", "staff:audit", None),
    ("个人信息导出", "staff:pipl", None),
]
