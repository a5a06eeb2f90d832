"""The demo office as plain data, built without a database: a seeded random
generator draws the same buildings, staff, tenants and requests on every machine."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Iterable

from portal.core.roles import Principal, Role

DEMO_PASSWORD = "Demo-Archive-2026"
SEED = 20260101
TENANT_COUNT = 60
MARKER_ACTION = "demo.load"
LOCK = (4243, 1)  # pg_advisory_lock(namespace, key); tenants.migrate uses namespace 4242
AREA_CODE = "021"  # the buildings are in Shanghai

SYSTEM = Principal(kind="staff", user_id=0, name="demo loader", roles=frozenset({Role.GENERAL_MANAGER}))

# --- the plan: plain data, built without a database ----------------------------------------------


@dataclass(frozen=True)
class StaffPlan:
    username: str
    display_name: str
    role: Role
    department: str
    buildings: tuple[int, ...]  # 1-based building numbers of the plan


STAFF: tuple[StaffPlan, ...] = (
    StaffPlan("clerk", "王晓燕", Role.CLERK, "客户服务部", (1,)),
    StaffPlan("archivist", "刘静", Role.ARCHIVIST, "档案室", ()),
    StaffPlan("finance", "陈明", Role.FINANCE, "财务部", ()),
    StaffPlan("depthead", "张建国", Role.DEPT_HEAD, "客户服务部", (1, 2)),
    StaffPlan("supervisor", "李国平", Role.SUPERVISOR, "管理处", ()),
    StaffPlan("manager", "周宏伟", Role.GENERAL_MANAGER, "管理处", ()),
    StaffPlan("technician", "赵强", Role.TECHNICIAN, "工程部", (1,)),
    StaffPlan("auditor", "孙丽", Role.AUDITOR, "审计部", ()),
    StaffPlan("admin", "吴磊", Role.ADMIN, "信息部", ()),
    StaffPlan("dispatcher", "郑海", Role.DISPATCHER, "工程部", (1, 2)),
)

STAFF_LABELS = {
    Role.CLERK: "Clerk (building 1)",
    Role.ARCHIVIST: "Archivist",
    Role.FINANCE: "Finance",
    Role.DEPT_HEAD: "Dept head (1-2)",
    Role.SUPERVISOR: "Supervisor",
    Role.GENERAL_MANAGER: "General manager",
    Role.TECHNICIAN: "Technician (bldg 1)",
    Role.AUDITOR: "Auditor",
    Role.ADMIN: "Administrator",
    Role.DISPATCHER: "Dispatcher (1-2)",
}


@dataclass(frozen=True)
class UnitPlan:
    floor: int
    code: str
    area_m2: Decimal
    use: str  # office | shop | storage


@dataclass(frozen=True)
class BuildingPlan:
    code: str
    name: str
    address: str
    floors: int
    units: tuple[UnitPlan, ...]


@dataclass
class ContactPlan:
    name: str
    position: str
    mobile: str
    landline: str = ""
    email: str = ""
    is_primary: bool = False
    is_emergency: bool = False
    receives_notices: bool = False

    def form(self) -> dict:
        return {
            "name": self.name, "position": self.position, "mobile": self.mobile, "landline": self.landline,
            "email": self.email, "is_primary": self.is_primary, "is_emergency": self.is_emergency,
            "receives_notices": self.receives_notices,
        }


@dataclass
class TenantPlan:
    number: int  # 1..60, order of creation
    profile: dict
    contacts: list[ContactPlan]
    units: list[tuple[int, str]]  # (building number, unit code)
    use: str  # office | shop | storage: decides the business type letter
    portal_email: str
    portal_name: str
    request: str = ""  # kind of the pending change request this tenant files, if any

    @property
    def name(self) -> str:
        return self.profile["name"]

    @property
    def building(self) -> int:
        return self.units[0][0]


@dataclass
class Plan:
    buildings: list[BuildingPlan]
    tenants: list[TenantPlan] = field(default_factory=list)


# (characters, pinyin)
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
    ("曾", "zeng"), ("沈", "shen"), ("蒋", "jiang"), ("陆", "lu"), ("顾", "gu"), ("钱", "qian"),
    ("潘", "pan"), ("姚", "yao"), ("方", "fang"), ("范", "fan"),
)
# (characters, pinyin, sex) — sex decides the parity of a resident ID's sequence digit
GIVEN_NAMES = (
    ("伟", "wei", "M"), ("芳", "fang", "F"), ("娜", "na", "F"), ("敏", "min", "F"), ("静", "jing", "F"),
    ("强", "qiang", "M"), ("磊", "lei", "M"), ("军", "jun", "M"), ("洋", "yang", "M"), ("勇", "yong", "M"),
    ("艳", "yan", "F"), ("杰", "jie", "M"), ("涛", "tao", "M"), ("明", "ming", "M"), ("超", "chao", "M"),
    ("秀英", "xiuying", "F"), ("建华", "jianhua", "M"), ("志强", "zhiqiang", "M"), ("晓东", "xiaodong", "M"),
    ("海燕", "haiyan", "F"), ("丽华", "lihua", "F"), ("文博", "wenbo", "M"), ("雨欣", "yuxin", "F"),
    ("思远", "siyuan", "M"), ("嘉怡", "jiayi", "F"), ("俊杰", "junjie", "M"), ("子涵", "zihan", "F"),
    ("国平", "guoping", "M"), ("春梅", "chunmei", "F"), ("宏亮", "hongliang", "M"), ("佳琪", "jiaqi", "F"),
    ("振宇", "zhenyu", "M"), ("雪梅", "xuemei", "F"), ("立新", "lixin", "M"), ("慧敏", "huimin", "F"),
    ("浩然", "haoran", "M"), ("婷婷", "tingting", "F"), ("建平", "jianping", "M"), ("玉兰", "yulan", "F"),
    ("晓峰", "xiaofeng", "M"), ("美玲", "meiling", "F"), ("德明", "deming", "M"), ("欣怡", "xinyi", "F"),
)
# Trade names (字号), each with its pinyin for the e-mail domain.
TRADE_NAMES = (
    ("瑞丰", "ruifeng"), ("鼎盛", "dingsheng"), ("恒通", "hengtong"), ("宏达", "hongda"), ("嘉禾", "jiahe"),
    ("金桥", "jinqiao"), ("蓝海", "lanhai"), ("联创", "lianchuang"), ("明德", "mingde"), ("诺亚", "nuoya"),
    ("鹏程", "pengcheng"), ("启明", "qiming"), ("润泽", "runze"), ("盛世", "shengshi"), ("天衡", "tianheng"),
    ("拓普", "tuopu"), ("万象", "wanxiang"), ("伟业", "weiye"), ("新锐", "xinrui"), ("信和", "xinhe"),
    ("星辰", "xingchen"), ("亚泰", "yatai"), ("易捷", "yijie"), ("永安", "yongan"), ("远航", "yuanhang"),
    ("云帆", "yunfan"), ("泽众", "zezhong"), ("长风", "changfeng"), ("智汇", "zhihui"), ("中衡", "zhongheng"),
    ("卓越", "zhuoyue"), ("博雅", "boya"), ("晨光", "chenguang"), ("华昱", "huayu"), ("君和", "junhe"),
    ("睿思", "ruisi"), ("沃土", "wotu"), ("锦程", "jincheng"), ("辰星", "chenxing"), ("海纳", "haina"),
    ("正源", "zhengyuan"), ("同舟", "tongzhou"), ("恒升", "hengsheng"), ("聚源", "juyuan"), ("鸿图", "hongtu"),
    ("凌云", "lingyun"), ("汇通", "huitong"), ("思创", "sichuang"), ("维康", "weikang"), ("益民", "yimin"),
    ("安信", "anxin"), ("美达", "meida"), ("和光", "heguang"), ("青禾", "qinghe"), ("弘毅", "hongyi"),
    ("知行", "zhixing"), ("精诚", "jingcheng"), ("方圆", "fangyuan"), ("泰和", "taihe"), ("康桥", "kangqiao"),
    ("清源", "qingyuan"), ("金石", "jinshi"), ("宝隆", "baolong"), ("鑫源", "xinyuan"), ("融信", "rongxin"),
    ("博远", "boyuan"), ("瀚海", "hanhai"), ("北辰", "beichen"), ("西岭", "xiling"), ("晟通", "shengtong"),
    ("奥维", "aowei"), ("科迈", "kemai"),
)
# City prefix: (name, credit-code / resident-ID divisions, phone area code, districts for addresses)
CITIES = (
    ("上海", ("310115", "310104", "310101", "310112", "310106"), "021",
     ("浦东新区", "徐汇区", "黄浦区", "闵行区", "静安区")),
    ("北京", ("110105", "110108", "110101"), "010", ("朝阳区", "海淀区", "东城区")),
    ("深圳", ("440305", "440304", "440303"), "0755", ("南山区", "福田区", "罗湖区")),
    ("杭州", ("330106", "330108"), "0571", ("西湖区", "滨江区")),
    ("苏州", ("320505", "320508"), "0512", ("虎丘区", "姑苏区")),
    ("南京", ("320106", "320104"), "025", ("鼓楼区", "秦淮区")),
    ("广州", ("440106", "440104"), "020", ("天河区", "越秀区")),
    ("成都", ("510107", "510104"), "028", ("武侯区", "锦江区")),
    ("武汉", ("420106", "420102"), "027", ("武昌区", "江岸区")),
)
CITY_WEIGHTS = (14, 3, 3, 2, 2, 1, 2, 1, 1)
ROADS = ("张杨路", "淮海中路", "漕溪北路", "南京西路", "中山东一路", "延安西路", "人民路", "建设路",
         "解放路", "新华路", "科技路", "创业大道", "学院路", "长江路", "滨河路")


@dataclass(frozen=True)
class Industry:
    label: str  # profile.industry
    words: tuple[str, ...]  # what follows the trade name
    scope: str
    use: str  # office | shop | storage — what kind of unit it leases
    capital: tuple[int, ...]  # registered capital choices, in 10k yuan


INDUSTRIES = (
    Industry("软件和信息技术服务业", ("信息科技", "网络科技", "软件技术", "数据科技"),
             "计算机软硬件的技术开发、技术咨询、技术服务；信息系统集成；数据处理服务", "office", (100, 500, 1000, 2000)),
    Industry("商务服务业", ("企业管理咨询", "商务咨询", "企业服务"),
             "企业管理咨询、商务信息咨询、市场营销策划、会务服务", "office", (50, 100, 200, 500)),
    Industry("广告和文化传媒", ("文化传媒", "广告", "品牌策划"),
             "设计、制作、代理、发布各类广告；文化艺术交流活动策划；影视策划", "office", (100, 300, 500)),
    Industry("批发和进出口贸易", ("国际贸易", "进出口", "实业"),
             "货物及技术的进出口业务；日用百货、五金交电、机电设备的批发", "office", (200, 500, 1000, 3000)),
    Industry("投资与资产管理", ("投资管理", "资产管理", "股权投资基金管理"),
             "投资管理、资产管理、实业投资（除金融、证券等国家专项审批项目）", "office", (1000, 3000, 5000, 10000)),
    Industry("建筑与工程设计", ("建筑设计", "工程咨询", "装饰设计工程"),
             "建筑工程设计、室内装饰设计与施工、工程造价咨询", "office", (300, 600, 1000)),
    Industry("人力资源服务", ("人力资源", "人才服务"),
             "人才中介、人力资源外包服务、劳务派遣、企业招聘代理", "office", (200, 500)),
    Industry("医药健康", ("医药科技", "生物科技", "健康管理"),
             "医药科技领域内的技术开发、技术转让；第一类医疗器械销售；健康咨询（不含诊疗）", "office", (500, 1000, 5000)),
    Industry("电子与通信", ("电子科技", "通信技术", "智能科技"),
             "电子产品、通讯设备、智能化系统的研发与销售；物联网技术服务", "office", (500, 1000, 3000)),
    Industry("新能源", ("新能源科技", "能源技术"),
             "太阳能光伏、储能系统的技术开发与销售；合同能源管理", "office", (1000, 5000)),
    Industry("教育培训", ("教育科技", "文化发展"),
             "教育软件开发；非学历职业技能培训咨询（不含办学）；文化艺术交流", "office", (100, 300)),
    Industry("检验检测", ("检测技术", "质量技术服务"),
             "检验检测服务、计量服务、标准化服务", "office", (500, 1000)),
    Industry("旅游", ("国际旅行社", "旅游发展"),
             "国内旅游业务、入境旅游业务、票务代理、会展服务", "office", (300, 500)),
    Industry("餐饮", ("餐饮管理", "餐饮"),
             "餐饮服务、餐饮企业管理；食品销售（仅销售预包装食品）", "shop", (50, 100, 200)),
    Industry("零售", ("商贸", "贸易"),
             "日用百货、服装鞋帽、工艺礼品、文化用品的零售", "shop", (50, 100)),
    Industry("仓储物流", ("供应链管理", "物流"),
             "供应链管理、国内货物运输代理、普通货物仓储服务（除危险化学品）", "storage", (500, 1000, 2000)),
)
# How many enterprises of each industry (same order as INDUSTRIES); they add up to
# the tenants that are neither individuals nor firms.
INDUSTRY_COUNTS = (9, 5, 4, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 2, 1, 3)
INDIVIDUALS = 5
# Tenants that are not companies limited by shares: firms and their registration codes.
FIRMS = (
    ("律师事务所", "法律服务", "31", "律师执业业务", "office"),
    ("会计师事务所（特殊普通合伙）", "会计审计", "91", "审查企业会计报表、出具审计报告；验证企业资本；代理记账", "office"),
)
INDIVIDUAL_TRADES = (
    ("餐饮", "小吃店经营（个体）", "shop"),
    ("零售", "便利店经营（个体）", "shop"),
    ("零售", "花艺工作室（个体）", "shop"),
    ("专业服务", "设计工作室（个体）", "office"),
    ("零售", "咖啡简餐（个体）", "shop"),
)
POSITIONS_PRIMARY = ("行政经理", "办公室主任", "总经理助理", "行政主管", "综合部经理")
POSITIONS_OTHER = ("财务主管", "财务经理", "出纳", "人事专员", "IT主管", "采购经理", "前台")
POSITIONS_EMERGENCY = ("安全负责人", "值班经理", "总经理", "设施主管")
SOURCES = ("front_desk", "sales", "market_research", "self_service", "referral", "other")
SOURCE_WEIGHTS = (3, 6, 1, 1, 4, 1)
STATUSES = ("active", "potential", "dormant", "lost")
STATUS_WEIGHTS = (48, 4, 5, 3)
LEVEL_WEIGHTS = (26, 17, 11, 6)
SPECIAL_NEEDS = (
    "工作日晚间需空调加时，按月结算。",
    "大型设备进出需提前预约货梯。",
    "周末有少量员工加班，需开通门禁。",
    "机房需 24 小时供电，已申请独立电表。",
    "需要额外停车位 5 个。",
    "对外营业，需在大堂设置导视牌。",
)
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139",
                   "150", "151", "152", "153", "155", "156", "157", "158", "159",
                   "180", "181", "182", "183", "185", "186", "187", "188", "189")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code check


def _building_specs(rng: random.Random) -> list[BuildingPlan]:
    def area(low: int, high: int) -> Decimal:
        return Decimal(rng.randint(low * 100, high * 100)) / 100

    def offices(floors: range, count: int, per_floor: int) -> list[UnitPlan]:
        slots = [(f, n) for f in floors for n in range(1, per_floor + 1)]
        picked = sorted(rng.sample(slots, count))
        return [UnitPlan(f, f"{f}{n:02d}", area(80, 600) if n > 1 else area(200, 600), "office") for f, n in picked]

    one = offices(range(6, 31), 26, 6) + [UnitPlan(1, f"1{n:02d}", area(80, 160), "shop") for n in range(1, 5)]
    two = offices(range(3, 22), 20, 4) + [UnitPlan(1, f"1{n:02d}", area(80, 200), "shop") for n in range(1, 9)]
    three = offices(range(2, 13), 22, 4) + [UnitPlan(-1, f"B1{n:02d}", area(80, 300), "storage") for n in range(1, 7)]
    return [
        BuildingPlan("DFGJ", "东方国际大厦", "上海市浦东新区东方路 1888 号", 32, tuple(one)),
        BuildingPlan("BJSW", "滨江商务中心", "上海市徐汇区龙腾大道 2066 号", 22, tuple(two)),
        BuildingPlan("KCYA", "科创园A座", "上海市闵行区科创路 88 号", 12, tuple(three)),
    ]


def _org_code(rng: random.Random) -> str:
    """Nine characters: eight body characters and the GB 11714 check character."""
    from tenants.validators import CREDIT_CODE_CHARSET

    if rng.random() < 0.5:  # codes issued since 2015 start with "MA"
        body = "MA" + "".join(rng.choice(CREDIT_CODE_CHARSET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    values = [int(ch, 36) for ch in body]
    check = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS)) % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _credit_code(rng: random.Random, authority: str, division: str) -> str:
    from tenants.validators import make_valid_credit_code

    return make_valid_credit_code(authority + division + _org_code(rng))


def _resident_id(rng: random.Random, division: str, sex: str) -> str:
    from tenants.validators import make_valid_resident_id

    birth = dt.date(1962, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 36))
    sequence = rng.randint(0, 99) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "M" else (0, 2, 4, 6, 8))
    return make_valid_resident_id(f"{division}{birth:%Y%m%d}{sequence:03d}")


class _Names:
    """Person names, never the same twice in the demo."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(self) -> tuple[str, str, str]:
        while True:
            (s, s_py), (g, g_py, sex) = self.rng.choice(SURNAMES), self.rng.choice(GIVEN_NAMES)
            if s + g not in self.used:
                self.used.add(s + g)
                return s + g, f"{s_py}.{g_py}", sex


def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number


def business_letter(letters: Iterable[str], use: str) -> str:
    """Business type letter for a tenant: A offices, B shops, C storage when
    those letters are configured, else the first configured letter."""
    letters = sorted(letters) or ["A"]
    wanted = {"office": "A", "shop": "B", "storage": "C"}[use]
    return wanted if wanted in letters else letters[0]


def _allocate(rng: random.Random, free: dict[tuple[int, str], UnitPlan], use: str, two: bool) -> list[tuple[int, str]]:
    """Pick a free unit of the wanted use (falling back to offices), and a
    second one on the same floor, or in the same building, if asked."""
    pool = [k for k, u in free.items() if u.use == use] or [k for k, u in free.items() if u.use == "office"]
    if not pool:
        pool = list(free)
    first = rng.choice(sorted(pool))
    chosen = [first]
    unit = free.pop(first)
    if two:
        same_floor = sorted(k for k, u in free.items() if k[0] == first[0] and u.floor == unit.floor and u.use == unit.use)
        same_building = sorted(k for k, u in free.items() if k[0] == first[0] and u.use == unit.use)
        other = same_floor or same_building
        if use == "storage":  # a logistics company also takes an office in the same building
            other = sorted(k for k, u in free.items() if k[0] == first[0] and u.use == "office") or other
        if other:
            second = other[0] if same_floor else rng.choice(other)
            free.pop(second)
            chosen.append(second)
    return chosen


@lru_cache(maxsize=1)
def build_plan() -> Plan:
    """The whole demo as data: pure and deterministic (treat it as read-only)."""
    rng = random.Random(SEED)
    buildings = _building_specs(rng)
    plan = Plan(buildings=buildings)
    free = {(b + 1, u.code): u for b, bld in enumerate(buildings) for u in bld.units}
    names = _Names(rng)
    mobiles: set[str] = set()
    trade_names = rng.sample(TRADE_NAMES, len(TRADE_NAMES))
    domains: set[str] = set()
    # Which numbers are individuals, firms, and which file a change request.
    individuals = set(rng.sample(range(1, TENANT_COUNT + 1), INDIVIDUALS))
    firms = set(rng.sample(sorted(set(range(1, TENANT_COUNT + 1)) - individuals), len(FIRMS)))
    industries = [i for i, count in zip(INDUSTRIES, INDUSTRY_COUNTS) for _ in range(count)]
    assert len(industries) == TENANT_COUNT - INDIVIDUALS - len(FIRMS)
    rng.shuffle(industries)

    for number in range(1, TENANT_COUNT + 1):
        level = rng.choices(range(4), LEVEL_WEIGHTS)[0]
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
        move_in = None if status == "potential" else dt.date(2014, 3, 1) + dt.timedelta(days=rng.randint(0, 365 * 11))
        contacts: list[ContactPlan] = []
        city, divisions, area_code, districts = rng.choices(CITIES, CITY_WEIGHTS)[0]
        if number in individuals:
            person, person_py, sex = names.person()
            industry_label, scope, use = INDIVIDUAL_TRADES[len([n for n in individuals if n < number])]
            birth_division = rng.choice(rng.choice(CITIES)[1])
            resident_id = _resident_id(rng, birth_division, sex)
            email = f"{person_py.replace('.', '')}{resident_id[8:10]}@mail.example"
            profile = {
                "name": person, "kind": "P", "resident_id": resident_id, "legal_rep": person,
                "industry": industry_label, "business_scope": scope,
                "registered_address": "",
            }
            level = min(level, 1)
            contacts.append(ContactPlan(person, "经营者", _mobile(rng, mobiles), email=email, is_primary=True,
                                        is_emergency=True, receives_notices=True))
            if rng.random() < 0.5:
                helper, _, _ = names.person()
                contacts.append(ContactPlan(helper, "店员", _mobile(rng, mobiles)))
            domain = None
        else:
            trade, trade_py = trade_names.pop()
            division = rng.choice(divisions)
            if number in firms:
                suffix, industry_label, authority, scope, use = FIRMS[len([n for n in firms if n < number])]
                name = f"{city}{trade}{suffix}"
                capital = None
            else:
                industry = industries.pop()
                word = rng.choice(industry.words)
                corp = "股份有限公司" if rng.random() < 0.12 else "有限公司"
                branch = city != "上海" and rng.random() < 0.5
                name = f"{city}{trade}{word}{corp}" + ("上海分公司" if branch else "")
                if branch:
                    division = rng.choice(CITIES[0][1])
                industry_label, scope, use, authority = industry.label, industry.scope, industry.use, "91"
                capital = None if branch else rng.choice(industry.capital) * 10_000
            domain = trade_py if trade_py not in domains else f"{trade_py}{number}"
            domains.add(domain)
            rep, _, _ = names.person()
            district = rng.choice(districts)
            profile = {
                "name": name, "kind": "E", "credit_code": _credit_code(rng, authority, division),
                "legal_rep": rep, "industry": industry_label, "business_scope": scope,
                "registered_capital": "" if capital is None else str(capital),
                "registered_address": f"{city}市{district}{rng.choice(ROADS)} {rng.randint(1, 999)} 号",
            }
            for index in range(rng.choices((1, 2, 3), (3, 5, 3))[0]):
                person, person_py, _ = names.person()
                if index == 0:
                    contact = ContactPlan(person, rng.choice(POSITIONS_PRIMARY), _mobile(rng, mobiles),
                                          email=f"{person_py}@{domain}.example", is_primary=True,
                                          receives_notices=True, is_emergency=rng.random() < 0.3)
                elif index == 1:
                    position = rng.choice(POSITIONS_OTHER)
                    contact = ContactPlan(person, position, _mobile(rng, mobiles),
                                          email=f"{person_py}@{domain}.example",
                                          receives_notices=position.startswith("财务"))
                else:
                    contact = ContactPlan(person, rng.choice(POSITIONS_EMERGENCY), _mobile(rng, mobiles),
                                          is_emergency=True)
                if rng.random() < 0.4:
                    contact.landline = f"{AREA_CODE}-{rng.randint(5000_0000, 6999_9999)}" + (
                        f"-{rng.randint(100, 899)}" if rng.random() < 0.4 else "")
                contacts.append(contact)
        profile.update({
            "level": level, "status": status, "source_channel": source,
            "move_in_date": move_in.isoformat() if move_in else "",
            "special_needs": rng.choice(SPECIAL_NEEDS) if rng.random() < 0.25 else "",
        })
        units = _allocate(rng, free, use, two=rng.random() < (0.6 if use == "storage" else 0.22))
        bld = buildings[units[0][0] - 1]
        at_office = rng.random() < 0.55 and city == "上海"
        if profile["kind"] == "E" and (at_office or profile["name"].endswith("上海分公司")):
            # Registered at the leased office (branches, and many small companies).
            profile["registered_address"] = f"{bld.address}{bld.name} {units[0][1]} 室"
        primary = contacts[0]
        plan.tenants.append(TenantPlan(number, profile, contacts, units, use, primary.email, primary.name))

    for what in ("portal_email", "name"):
        values = [getattr(t, what) for t in plan.tenants]
        assert len(set(values)) == len(values), f"demo plan repeats a {what}"
    codes = [t.profile.get("credit_code") or t.profile["resident_id"] for t in plan.tenants]
    assert len(set(codes)) == len(codes), "demo plan repeats an identity number"

    # Three tenants of building 1 (the clerk's) have a change request waiting.
    in_one = [t for t in plan.tenants if t.building == 1 and t.profile["kind"] == "E"]
    for tenant, kind in zip(in_one, ("profile", "contact_add", "contact_update")):
        tenant.request = kind
    return plan


def _example_portal_tenants(plan: Plan) -> list[TenantPlan]:
    """One enterprise per building, the first of each."""
    out = []
    for number in range(1, len(plan.buildings) + 1):
        out.append(next(t for t in plan.tenants if t.building == number and t.profile["kind"] == "E"))
    return out


def demo_logins() -> list[tuple[str, str]]:
    """(what the account is, login) for every demo staff account and three
    example portal users; the password of all is ``DEMO_PASSWORD``."""
    plan = build_plan()
    out = [(STAFF_LABELS[s.role], s.username) for s in STAFF]
    for tenant in _example_portal_tenants(plan):
        out.append((f"Tenant portal (bldg {tenant.building})", tenant.portal_email))
    return out
