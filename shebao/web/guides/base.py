"""The shape of a 业务流程说明 (a business's printable guide)."""

from dataclasses import dataclass

UNIT_HALL = "单位网厅"
PERSON_HALL = "个人网厅"
PUBLIC = "单位登记与注册（无需登录）"

# Said by every guide whose business the agency reviews (seed 002: 进行中 / 结束 / 回退).
REVIEWED_BY_AGENCY = (
    "参保地社会保险经办机构的经办人员审核，一般在1个工作日内办结（以参保地经办机构的规定为准）"
)
VIP_ON_SUBMIT = "VIP单位提交即自动审核通过，资料留存备查"
ON_RETURN = (
    "审核不通过（回退）时，业务回到“待办业务”，回退标志为“是”并写明回退原因；"
    "按原因修改后重新提交，或退单放弃"
)
RESULT_WHERE = "审核结果在“已办业务”和该业务的办事进度页查看，每一步由谁办理都有记录"


@dataclass(frozen=True)
class Guide:
    """One business's guide. ``pages`` are the URL names (namespace:name) of the pages where
    the business is done; each of them links to this guide."""

    slug: str
    title: str
    hall: str
    summary: str  # 业务说明: what the business does
    audience: str  # 办理对象
    materials: tuple[str, ...]  # 所需材料 (and the facts to have at hand)
    steps: tuple[str, ...]  # 办理步骤, in order
    review: tuple[str, ...]  # 审核: who reviews, how long, what a return means
    notes: tuple[str, ...]  # 注意事项: deadlines and pitfalls
    pages: tuple[str, ...]
