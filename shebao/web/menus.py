"""The menus of the three halls, grouped as the real halls group them.

A menu is a list of groups: (group label, entries); the group label None is the top of the menu
(首页). An entry is (label, url name, who may see it) with optional keywords in a fourth place:
`also` (more path prefixes the entry stands for, e.g. a filing's page under 待办业务). An entry
whose URL name does not exist (yet) is left out rather than breaking every page."""

UNIT_MENU = [
    (None, [("首页", "unit:home", None)]),
    (
        "单位信息",
        [
            ("单位基本信息", "unit:info", None),
            ("信息变更", "unit:changes", None),
        ],
    ),
    (
        "人员参保",
        [
            ("人员参保", "unit:enrolment_new", None),
            ("人员停保", "unit:stop_new", None),
            ("人员转移", "unit:transfer", None),
        ],
    ),
    ("工资申报", [("缴费基数申报", "unit:wages", None)]),
    (
        "结算缴费",
        [
            ("单位结算", "unit:settlement", None),
            ("补缴", "unit:backpay", None),
            ("社保应付", "unit:payable", None),
        ],
    ),
    (
        "查询打印",
        [
            ("参保职工名单", "unit:roster", None),
            ("缴费到账记录", "unit:payment_history", None),
        ],
    ),
    (
        "业务管理",
        [
            # A filing's own page (/unit/filings/<serial>/) belongs to the open business.
            ("待办业务", "unit:todo", None, {"also": ("/unit/filings/",)}),
            ("已办业务", "unit:done", None),
            ("操作员管理", "unit:operators", "admin"),
        ],
    ),
]

PERSON_MENU = [
    (None, [("首页", "person:home", None)]),
    (
        "参保查询",
        [
            ("缴费记录", "person:contributions", None),
            ("个人账户", "person:account", None),
        ],
    ),
    ("业务办理", [("灵活就业", "person:flexible", None)]),
]

STAFF_MENU = [
    (None, [("首页", "staff:home", None)]),
    (
        "业务审核",
        [
            ("待审核业务", "staff:queue", None),
            ("审核规则", "staff:region_rules", None),
        ],
    ),
    (
        "参保管理",
        [
            ("参保单位", "staff:units", None),
            ("人员锁定", "staff:person_lock", None),
        ],
    ),
    (
        "缴费核定",
        [
            ("缴费参数", "staff:parameters", None),
            ("当期缴费核定", "staff:settlements", None),
            ("灵活人员核定", "staff:flexible", None),
        ],
    ),
    (
        "征收管理",
        [
            ("到账登记", "staff:payments", None),
            ("欠费查询", "staff:arrears", None),
            ("滞纳金试算", "staff:late_fee", None),
        ],
    ),
    (
        "系统管理",
        [
            ("审计日志", "staff:audit", None),
            ("个人信息导出", "staff:pipl", None),
        ],
    ),
]
