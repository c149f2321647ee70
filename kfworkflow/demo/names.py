"""Vocabularies of the demo data: counties, categories, milestones, and plausible names.

The ids, Chinese names and category paths are the ones of ``policies.yaml``; the name
vocabularies are invented for the demo (any likeness to a real company or person is chance).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class County:
    id: str
    name: str
    kind: str  # county | district | zone
    admin_code: str  # the 4102xx part of a national project code
    weight: int  # share of the city's projects, in percent
    urban: bool  # an urban district: fewer projects, more often led by a city department

    @property
    def government(self) -> str:
        return "城乡一体化示范区管委会" if self.kind == "zone" else f"{self.name}人民政府"


# Counties carry more projects than the four urban districts. The demonstration zone has no
# national division code of its own; its projects are filed under the city's 410200.
COUNTIES: tuple[County, ...] = (
    County("qixian", "杞县", "county", "410221", 16, False),
    County("tongxu", "通许县", "county", "410222", 12, False),
    County("weishi", "尉氏县", "county", "410223", 14, False),
    County("lankao", "兰考县", "county", "410225", 16, False),
    County("xiangfu", "祥符区", "district", "410212", 13, False),
    County("longting", "龙亭区", "district", "410202", 5, True),
    County("shunhe", "顺河回族区", "district", "410203", 5, True),
    County("gulou", "鼓楼区", "district", "410204", 4, True),
    County("yuwangtai", "禹王台区", "district", "410205", 5, True),
    County("demo_zone", "城乡一体化示范区", "zone", "410200", 10, False),
)
COUNTY_BY_ID: Mapping[str, County] = {c.id: c for c in COUNTIES}
# The two counties the demo shows lagging: fewer milestones reached in the ledger, slower starts
# and investment behind the pro-rata target during the campaign.
LAGGING_COUNTIES: tuple[str, ...] = ("weishi", "tongxu")

MILESTONE_LABELS: Mapping[str, str] = {
    "planned": "计划",
    "signed": "签约",
    "allocated": "下达",
    "approved": "审核通过",
    "funded": "资金到位",
    "disbursed": "资金拨付",
    "tendering": "招投标",
    "started": "开工",
    "completed": "竣工",
    "in_production": "投产",
}
# Milestones with a date column (计划…日期 / 实际…日期); ``planned`` is a state only.
DATED_MILESTONES: tuple[str, ...] = tuple(m for m in MILESTONE_LABELS if m != "planned")


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    path: tuple[str, ...]  # first = initial state


CATEGORIES: tuple[Category, ...] = (
    Category("policy_finance", "政策性开发性金融工具项目",
             ("signed", "funded", "started", "completed")),
    Category("three_batches", "“三个一批”项目", ("planned", "signed", "started", "in_production")),
    Category("key_project", "省市重点项目", ("planned", "started", "completed")),
    Category("central_budget", "中央预算内投资项目",
             ("allocated", "disbursed", "started", "completed")),
    Category("special_bond", "地方政府专项债券项目",
             ("allocated", "disbursed", "started", "completed")),
    Category("long_term_loan", "中长期贷款项目",
             ("approved", "funded", "tendering", "started", "completed")),
    Category("equipment_loan_subsidy", "设备购置贷款贴息项目",
             ("approved", "funded", "started", "completed")),
    Category("housing_delivery", "“保交楼”项目", ("planned", "started", "completed")),
)
CATEGORY_BY_ID: Mapping[str, Category] = {c.id: c for c in CATEGORIES}

BATCH_SIGN, BATCH_START, BATCH_PRODUCE = "签约一批", "开工一批", "投产一批"

PROBLEM_TYPES: Mapping[str, str] = {
    "procedures": "前期手续",
    "preliminary_work": "前期工作",
    "resources": "要素资源",
    "construction_env": "施工环境",
    "funds": "资金",
}
LEVEL_NAMES: Mapping[str, str] = {"county": "县级", "city": "市级", "province": "省级"}

# Titles of the minor problems counties report now and then, by problem type.
PROBLEM_TITLES: Mapping[str, tuple[str, ...]] = {
    "procedures": ("施工许可证办理滞后", "环评批复尚未取得", "规划许可手续办理缓慢",
                   "用地预审手续未完成", "节能审查意见尚未出具"),
    "preliminary_work": ("施工图设计尚未完成", "可研报告需修改完善", "招标文件编制滞后",
                         "征迁工作推进缓慢"),
    "resources": ("建设用地指标不足", "能耗指标未落实", "用电接入容量不足", "供水供气配套未到位"),
    "construction_env": ("周边群众阻工", "施工便道未打通", "管线迁改协调困难",
                         "疫情防控影响施工人员到岗", "重污染天气管控影响施工"),
    "funds": ("项目资本金未足额到位", "银行贷款审批缓慢", "配套资金缺口较大"),
}

# Titles of the 清单 tasks that lead to each milestone.
TASK_TITLES: Mapping[str, tuple[str, ...]] = {
    "signed": ("完成项目投资协议签订", "完成项目可行性研究报告编制"),
    "allocated": ("完成投资计划转发下达", "完成项目资金申报"),
    "approved": ("完成贷款项目审核申报", "完成银行授信审批"),
    "funded": ("落实项目资本金", "完成资金到位"),
    "disbursed": ("完成资金拨付", "完成资金支付使用"),
    "tendering": ("完成招标文件编制", "完成施工招投标"),
    "started": ("完成用地手续办理", "取得施工许可证", "完成施工图审查", "完成环评批复",
                "落实施工单位进场"),
    "completed": ("完成主体工程建设", "完成竣工验收备案"),
    "in_production": ("完成设备安装调试", "完成试生产"),
}

# City departments that lead projects of a domain when the county government does not.
CITY_DEPARTMENTS: Mapping[str, tuple[str, ...]] = {
    "manufacturing": ("市工业和信息化局", "市发展改革委"),
    "infrastructure": ("市住房城乡建设局", "市交通运输局", "市水利局"),
    "social": ("市卫生健康委", "市教育局", "市民政局"),
    "culture_tourism": ("市文化广电旅游局",),
    "agriculture": ("市农业农村局",),
    "energy": ("市发展改革委",),
    "logistics": ("市商务局", "市发展改革委"),
    "equipment": ("市发展改革委", "人民银行开封市中心支行"),
    "housing": ("市住房城乡建设局",),
}
CATEGORY_DEPARTMENTS: Mapping[str, tuple[str, ...]] = {
    "policy_finance": ("市发展改革委",),
    "central_budget": ("市发展改革委",),
    "special_bond": ("市财政局", "市发展改革委"),
    "long_term_loan": ("市发展改革委", "市金融局"),
}


@dataclass(frozen=True)
class Template:
    """A project name with ``{x}`` / ``{n}`` slots and the owner unit that builds it.

    ``choices`` pairs each filler ``x`` with the owner's line of business (``sector``).
    """

    name: str
    owner: str
    choices: tuple[tuple[str, str], ...]
    numbers: tuple[int, ...] = ()


_COMPANY = "开封市{brand}{sector}有限公司"
_PLATFORM = "{county}城乡建设投资有限公司"
_TONNES = (1, 2, 3, 5, 6, 8, 10, 12, 15, 20, 30, 50)
_UNITS = (5, 10, 20, 30, 50, 60, 80, 100, 120, 150, 200)


def _same(*items: str, sector: str) -> tuple[tuple[str, str], ...]:
    return tuple((item, sector) for item in items)


TEMPLATES: Mapping[str, tuple[Template, ...]] = {
    "manufacturing": (
        Template("年产{n}万吨{x}项目", _COMPANY, (
            ("绿色建材", "建材"), ("新型墙体材料", "建材"), ("环保涂料", "新材料"),
            ("生物基新材料", "新材料"), ("精制面粉", "食品"), ("预制菜", "食品"),
            ("休闲食品", "食品"), ("再生铝合金", "新材料"), ("精细化工产品", "化工"),
            ("高端包装纸", "纸业"), ("功能性面料", "纺织")), _TONNES),
        Template("年产{n}万套{x}项目", _COMPANY, (
            ("汽车零部件", "汽车零部件"), ("新能源汽车线束", "汽车零部件"),
            ("定制家居", "家居"), ("实木家具", "家居"), ("锂电池模组", "新能源科技")), _UNITS),
        Template("年产{n}万台{x}项目", _COMPANY, (
            ("智能阀门", "智能装备"), ("新能源汽车电机", "智能装备"), ("空调压缩机", "机械制造"),
            ("农用机械", "机械制造"), ("医疗器械", "医疗器械")), _UNITS),
        Template("{x}产业园项目", _COMPANY, (
            ("高端装备制造", "智能装备"), ("新能源电池", "新能源科技"), ("医疗器械", "医疗器械"),
            ("电子信息", "电子科技"), ("生物医药", "生物科技"), ("绿色食品", "食品"),
            ("品牌家居", "家居")), ()),
        Template("{x}智能化技术改造项目", _COMPANY, (
            ("纺织", "纺织"), ("食品加工", "食品"), ("建材", "建材"), ("精细化工", "化工"),
            ("家具制造", "家居")), ()),
        Template("年产{n}万锭{x}项目", _COMPANY, _same("紧密纺纱", "气流纺纱", sector="纺织"),
                 (5, 10, 15, 20)),
    ),
    "infrastructure": (
        Template("城乡供水一体化工程", "{county}水务有限公司", (("", ""),)),
        Template("污水处理厂提标改造工程", "{county}水务有限公司", (("", ""),)),
        Template("{x}提升改造工程", _PLATFORM, _same(
            "人民路", "建设路", "文化路", "解放路", "中山路", "迎宾大道", "滨河路", "工业大道",
            "健康路", "团结路", "新华路", "大庆路", sector=""), ()),
        Template("{x}工程", _PLATFORM, _same(
            "雨污分流改造", "集中供热管网延伸", "燃气管网改造", "城市排水防涝设施建设",
            "水系连通及水环境综合治理", "农村公路提质改造", sector=""), ()),
        Template("{x}项目", _PLATFORM, _same(
            "老旧小区改造", "城市更新片区改造", "智慧停车场建设", "标准化厂房建设",
            "产业集聚区基础设施配套", "城中村改造安置房建设", sector=""), ()),
    ),
    "social": (
        Template("{x}建设项目", _PLATFORM, _same(
            "人民医院新院区", "中医院门急诊综合楼", "妇幼保健院综合楼", "职业教育园区",
            "养老服务中心", "公共卫生应急服务中心", "全民健身中心", "疾病预防控制中心综合楼",
            sector=""), ()),
        Template("第{x}高级中学新建项目", "{county}教育体育发展有限公司",
                 _same("一", "二", "三", "四", "五", "六", "七", "八", sector=""), ()),
        Template("{x}小学新建项目", "{county}教育体育发展有限公司",
                 _same("实验", "第一", "第二", "第三", "育才", "东城", "西城", sector=""), ()),
    ),
    "culture_tourism": (
        Template("{x}项目", "开封市{brand}文化旅游发展有限公司", _same(
            "宋文化主题旅游综合体", "黄河文化公园建设", "非遗文化街区", "文化创意产业园",
            "古城保护与更新", "乡村旅游示范区建设", "研学旅游基地", "菊花文化产业园",
            sector=""), ()),
    ),
    "agriculture": (
        Template("年产{n}万吨{x}精深加工项目", "开封市{brand}农业科技有限公司", _same(
            "大蒜", "花生", "红薯", "小麦", "蔬菜", "西瓜", sector=""), _TONNES),
        Template("{x}项目", "开封市{brand}农业开发有限公司", _same(
            "高标准农田建设", "现代农业产业园", "农产品冷链仓储", "乡村振兴示范区建设",
            "设施农业大棚", sector=""), ()),
        Template("{n}万头生猪养殖项目", "开封市{brand}牧业有限公司", (("", ""),), (2, 3, 5, 10)),
    ),
    "energy": (
        Template("{n}兆瓦{x}项目", "开封市{brand}新能源有限公司",
                 _same("分布式光伏发电", "风电", "农光互补光伏发电", sector=""),
                 (20, 50, 80, 100, 150, 200)),
        Template("{x}项目", "开封市{brand}能源有限公司", _same(
            "110千伏输变电工程", "220千伏输变电工程", "天然气储气调峰设施", "生物质热电联产",
            "电动汽车充电基础设施建设", sector=""), ()),
    ),
    "logistics": (
        Template("{x}项目", "开封市{brand}物流有限公司", _same(
            "智慧物流园", "冷链物流中心建设", "公铁联运物流园", "电商快递分拨中心",
            "农产品批发市场改造", "保税物流中心", sector=""), ()),
    ),
    "equipment": (
        Template("{x}设备购置更新项目", "{county}{x}", (
            ("人民医院医疗", "人民医院"), ("中医院医疗", "中医院"),
            ("妇幼保健院医疗", "妇幼保健院"), ("职业中等专业学校实训", "职业中等专业学校"),
            ("第一高级中学教学", "第一高级中学"),
            ("疾病预防控制中心检验检测", "疾病预防控制中心")), ()),
        Template("{x}数字化改造设备购置项目", _COMPANY, (
            ("纺织", "纺织"), ("食品", "食品"), ("装备制造", "智能装备"), ("建材", "建材")), ()),
    ),
    "housing": (
        Template("{x}项目", "开封市{brand}置业有限公司", (), ()),
    ),
}

# How each kind of project spreads over domains (weights in percent).
DOMAIN_WEIGHTS: Mapping[str, Mapping[str, int]] = {
    "policy_finance": {"infrastructure": 45, "social": 20, "culture_tourism": 10, "energy": 10,
                       "logistics": 10, "agriculture": 5},
    "three_batches": {"manufacturing": 70, "agriculture": 10, "logistics": 10,
                      "culture_tourism": 5, "energy": 5},
    "key_project": {"manufacturing": 42, "infrastructure": 25, "social": 12,
                    "culture_tourism": 8, "agriculture": 6, "energy": 4, "logistics": 3},
    "central_budget": {"infrastructure": 35, "social": 35, "agriculture": 20,
                       "culture_tourism": 10},
    "special_bond": {"infrastructure": 40, "social": 20, "logistics": 15, "culture_tourism": 10,
                     "agriculture": 10, "energy": 5},
    "long_term_loan": {"manufacturing": 40, "infrastructure": 30, "energy": 15, "logistics": 15},
    "equipment_loan_subsidy": {"equipment": 100},
    "housing_delivery": {"housing": 100},
}

BRANDS: tuple[str, ...] = (
    "汴杰", "宋都", "汴京", "清明", "大宋", "兴汴", "鼎盛", "恒达", "宏泰", "金阳", "瑞丰", "豫东",
    "天成", "华晟", "福源", "聚力", "万隆", "新宇", "博瑞", "金鼎", "盛源", "汇通", "隆泰", "鑫达",
    "永昌", "益民", "康宁", "嘉禾", "润泽", "德润", "正阳", "弘毅", "中诚", "开元", "祥瑞", "广德",
)
_ESTATE_WORDS = ("锦绣", "御景", "盛世", "翰林", "金色", "汴梁", "宋都", "清明", "书香", "银河",
                 "和园", "天悦", "铂悦", "丽景", "阳光", "春天", "滨河", "桂园")
_ESTATE_SUFFIXES = ("花园", "华府", "名苑", "家园", "公馆", "雅居", "新城", "佳苑")
_PHASES = ("一期", "二期", "三期")

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
    "贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟万段雷"
    "钱汤尹黎易常武乔贺龚文"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚华建国志红文辉鹏斌宇浩凯晨博亮峰鑫帅波宁海林俊凤"
    "玲丹萍婷雪倩玉琳颖慧振卫东新春秋松永庆德富朝彬"
)
# The leaders named in the seed plan; generated people never carry their names.
RESERVED_NAMES = frozenset({"李湘豫", "陈维忠", "刘震", "尹君", "马中虎", "王秋杰", "钱忠宝",
                            "王国庆", "徐超文", "薛志勇"})

CHINESE_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """``rng.choice`` through ``rng.random()``, several times faster for bulk generation."""
    return items[int(rng.random() * len(items))]


def draw_int(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)`` through ``rng.random()``."""
    return low + int(rng.random() * (high - low + 1))


def pick_weighted(rng: random.Random, items: Sequence[T], cumulative: Sequence[float]) -> T:
    """One of ``items``, with ``cumulative`` the running sum of their weights."""
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def person_name(rng: random.Random) -> str:
    while True:
        name = pick(rng, SURNAMES) + pick(rng, GIVEN_CHARS)
        if rng.random() >= 0.35:
            name += pick(rng, GIVEN_CHARS)
        if name not in RESERVED_NAMES:
            return name


def project_name(rng: random.Random, county: County, domain: str) -> tuple[str, str]:
    """A project name (county first) and its owner unit, for a project of ``domain``."""
    brand = pick(rng, BRANDS)
    if domain == "housing":
        estate = pick(rng, _ESTATE_WORDS) + pick(rng, _ESTATE_SUFFIXES)
        return f"{county.name}{estate}{pick(rng, _PHASES)}项目", f"开封市{brand}置业有限公司"
    template = pick(rng, TEMPLATES[domain])
    x, sector = pick(rng, template.choices)
    n = pick(rng, template.numbers) if template.numbers else 0
    name = county.name + template.name.format(x=x, n=n)
    owner = template.owner.format(county=county.name, brand=brand, sector=sector, x=sector)
    return name, owner


def phase_suffix(number: int) -> str:
    """``（二期）`` for the second project of the same name, and so on."""
    if number <= len(CHINESE_ORDINALS):
        return f"（{CHINESE_ORDINALS[number - 1]}期）"
    return f"（第{number}期）"

# Problems that stop a project until someone above the county acts: (type, level, titles).
STALL_PROBLEMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("resources", "city", ("项目建设用地指标未落实，需市级协调解决",
                           "土地征收组卷报批未完成，需市级协调",
                           "用地规划调整未获批复，需市级协调")),
    ("funds", "province", ("项目资本金缺口较大，需省级协调融资支持",
                           "专项债券资金拨付受阻，需省级协调",
                           "政策性银行贷款审批受阻，需省级协调")),
)
# Why a project's plan cannot be met (a note in its daily report).
INFEASIBLE_REASONS: tuple[str, ...] = (
    "受规划调整影响，无法按计划开工，拟申请调整",
    "企业投资意向变化，无法按计划开工，拟申请调整",
    "选址涉及永久基本农田，无法按计划开工，拟申请调整",
    "环评审批未通过，无法按计划开工，拟申请调整",
    "项目资本金无法落实，无法按计划开工，拟申请调整",
)
# How likely a minor problem of each type is (percent), and the levels it is raised at.
PROBLEM_TYPE_WEIGHTS: Mapping[str, int] = {
    "procedures": 30, "preliminary_work": 25, "construction_env": 25, "resources": 10, "funds": 10,
}
PROBLEM_LEVEL_WEIGHTS: Mapping[str, Mapping[str, int]] = {
    "procedures": {"county": 60, "city": 40},
    "preliminary_work": {"county": 80, "city": 20},
    "construction_env": {"county": 85, "city": 15},
    "resources": {"county": 20, "city": 80},
    "funds": {"county": 50, "city": 40, "province": 10},
}
