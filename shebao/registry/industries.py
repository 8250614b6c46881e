"""The industry list a unit picks from (所属行业) and the work-injury risk class it suggests.

Sources:
- 《国民经济行业分类》GB/T 4754-2017: the 20 门类 (A–T) and their 97 大类 (two-digit codes
  01–97, contiguous).
- 人社部发〔2015〕71号《关于调整工伤保险费率政策的通知》附件《工伤保险行业风险分类表》: each 大类
  falls in one of eight risk classes (一类 lowest … 八类 highest). The 2015 table is written on
  GB/T 4754-2011; where the 2017 edition renamed, split or added a 大类 the class of its 2011
  predecessor is kept, and the three changed ones are noted on their rows below.

A unit stores its industry as "code name" (e.g. "65 软件和信息技术服务业"); units registered
before the list existed keep their free text, which :func:`industry_code` simply does not
recognise."""

SECTIONS = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}

# 大类: code -> (门类, name, work-injury risk class 1–8)
DIVISIONS = {
    "01": ("A", "农业", 4),
    "02": ("A", "林业", 5),
    "03": ("A", "畜牧业", 4),
    "04": ("A", "渔业", 6),
    "05": ("A", "农、林、牧、渔专业及辅助性活动", 4),  # 2011: 农、林、牧、渔服务业
    "06": ("B", "煤炭开采和洗选业", 8),
    "07": ("B", "石油和天然气开采业", 7),
    "08": ("B", "黑色金属矿采选业", 8),
    "09": ("B", "有色金属矿采选业", 8),
    "10": ("B", "非金属矿采选业", 8),
    "11": ("B", "开采专业及辅助性活动", 5),  # 2011: 开采辅助活动
    "12": ("B", "其他采矿业", 7),
    "13": ("C", "农副食品加工业", 3),
    "14": ("C", "食品制造业", 3),
    "15": ("C", "酒、饮料和精制茶制造业", 3),
    "16": ("C", "烟草制品业", 3),
    "17": ("C", "纺织业", 3),
    "18": ("C", "纺织服装、服饰业", 4),
    "19": ("C", "皮革、毛皮、羽毛及其制品和制鞋业", 4),
    "20": ("C", "木材加工和木、竹、藤、棕、草制品业", 3),
    "21": ("C", "家具制造业", 5),
    "22": ("C", "造纸和纸制品业", 5),
    "23": ("C", "印刷和记录媒介复制业", 4),
    "24": ("C", "文教、工美、体育和娱乐用品制造业", 3),
    "25": ("C", "石油、煤炭及其他燃料加工业", 7),  # 2011: 石油加工、炼焦和核燃料加工业
    "26": ("C", "化学原料和化学制品制造业", 6),
    "27": ("C", "医药制造业", 4),
    "28": ("C", "化学纤维制造业", 4),
    "29": ("C", "橡胶和塑料制品业", 4),
    "30": ("C", "非金属矿物制品业", 6),
    "31": ("C", "黑色金属冶炼和压延加工业", 6),
    "32": ("C", "有色金属冶炼和压延加工业", 6),
    "33": ("C", "金属制品业", 4),
    "34": ("C", "通用设备制造业", 4),
    "35": ("C", "专用设备制造业", 4),
    "36": ("C", "汽车制造业", 4),
    "37": ("C", "铁路、船舶、航空航天和其他运输设备制造业", 4),
    "38": ("C", "电气机械和器材制造业", 4),
    "39": ("C", "计算机、通信和其他电子设备制造业", 3),
    "40": ("C", "仪器仪表制造业", 3),
    "41": ("C", "其他制造业", 3),
    "42": ("C", "废弃资源综合利用业", 4),
    "43": ("C", "金属制品、机械和设备修理业", 4),
    "44": ("D", "电力、热力生产和供应业", 4),
    "45": ("D", "燃气生产和供应业", 4),
    "46": ("D", "水的生产和供应业", 3),
    "47": ("E", "房屋建筑业", 6),
    "48": ("E", "土木工程建筑业", 6),
    "49": ("E", "建筑安装业", 5),
    "50": ("E", "建筑装饰、装修和其他建筑业", 5),  # 2011: 建筑装饰和其他建筑业
    "51": ("F", "批发业", 2),
    "52": ("F", "零售业", 2),
    "53": ("G", "铁路运输业", 4),
    "54": ("G", "道路运输业", 5),
    "55": ("G", "水上运输业", 5),
    "56": ("G", "航空运输业", 4),
    "57": ("G", "管道运输业", 4),
    "58": ("G", "多式联运和运输代理业", 5),  # 2011: 装卸搬运和运输代理业 (五类)
    # 2017 joined 装卸搬运 (2011 五类) and 仓储业 (2011 二类): the higher class is suggested,
    # staff may lower it for a pure warehouse.
    "59": ("G", "装卸搬运和仓储业", 5),
    "60": ("G", "邮政业", 2),
    "61": ("H", "住宿业", 2),
    "62": ("H", "餐饮业", 2),
    "63": ("I", "电信、广播电视和卫星传输服务", 2),
    "64": ("I", "互联网和相关服务", 2),
    "65": ("I", "软件和信息技术服务业", 1),
    "66": ("J", "货币金融服务", 1),
    "67": ("J", "资本市场服务", 1),
    "68": ("J", "保险业", 1),
    "69": ("J", "其他金融业", 1),
    "70": ("K", "房地产业", 2),
    "71": ("L", "租赁业", 2),
    "72": ("L", "商务服务业", 2),
    "73": ("M", "研究和试验发展", 2),
    "74": ("M", "专业技术服务业", 2),
    "75": ("M", "科技推广和应用服务业", 1),
    "76": ("N", "水利管理业", 3),
    "77": ("N", "生态保护和环境治理业", 3),
    "78": ("N", "公共设施管理业", 3),
    "79": ("N", "土地管理业", 3),  # new in 2017: the class of its 门类's other 大类
    "80": ("O", "居民服务业", 2),
    "81": ("O", "机动车、电子产品和日用产品修理业", 3),
    "82": ("O", "其他服务业", 2),
    "83": ("P", "教育", 2),
    "84": ("Q", "卫生", 2),
    "85": ("Q", "社会工作", 1),
    "86": ("R", "新闻和出版业", 2),
    "87": ("R", "广播、电视、电影和录音制作业", 1),  # 2011: …和影视录音制作业
    "88": ("R", "文化艺术业", 2),
    "89": ("R", "体育", 4),
    "90": ("R", "娱乐业", 3),
    "91": ("S", "中国共产党机关", 1),
    "92": ("S", "国家机构", 1),
    "93": ("S", "人民政协、民主党派", 1),
    "94": ("S", "社会保障", 1),
    "95": ("S", "群众团体、社会团体和其他成员组织", 1),
    "96": ("S", "基层群众自治组织及其他组织", 1),  # 2011: 基层群众自治组织
    "97": ("T", "国际组织", 1),
}


def industry_label(code: str) -> str:
    """What a unit stores and shows: "65 软件和信息技术服务业"."""
    return f"{code} {DIVISIONS[code][1]}"


def industry_code(value) -> str | None:
    """The 大类 code of a stored or submitted value ("65" or "65 软件和信息技术服务业"); None for
    free text from before the list (shown as it is) or nothing."""
    code = str(value or "").strip()[:2]
    if code not in DIVISIONS:
        return None
    rest = str(value).strip()[2:].strip()
    return code if rest in ("", DIVISIONS[code][1]) else None


def risk_class_for(value) -> int | None:
    """The work-injury risk class (1–8) the 2015 table gives the industry, or None."""
    code = industry_code(value)
    return DIVISIONS[code][2] if code else None


def industry_choices() -> list:
    """Grouped choices for a select: one group per 门类, each 大类 as "code name"."""
    groups: dict[str, list] = {}
    for code, (section, name, _risk) in DIVISIONS.items():
        groups.setdefault(section, []).append((code, f"{code} {name}"))
    return [(f"{s} {SECTIONS[s]}", options) for s, options in groups.items()]


def risk_classes() -> dict[str, int]:
    """大类 code -> suggested risk class, for the form's data attribute."""
    return {code: risk for code, (_s, _n, risk) in DIVISIONS.items()}
