"""A synthetic guide catalogue of any size, shaped like a province's: names built from real
service words (对象 + 事项类型), about 60 departments, 3-8 materials from a common pool.

``python bench/synth_guides.py N > guides.jsonl`` writes N contract Guides, one per line
(the format of `kiosk guides import`).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract.models import Guide  # noqa: E402

OBJECTS = ("食品经营", "药品零售", "建筑施工", "道路运输", "出版物", "烟草专卖零售", "户口", "居住证", "婚姻",
           "收养", "社会保险", "医疗保险", "失业保险", "养老保险", "住房公积金", "不动产", "营业执照", "个体工商户",
           "农民专业合作社", "特种设备", "危险化学品", "排污", "取水", "林木采伐", "动物防疫", "兽药经营",
           "种子生产经营", "渔业捕捞", "民办学校", "教师资格", "医师执业", "护士执业", "母婴保健", "放射诊疗",
           "公共场所卫生", "生活饮用水", "人力资源服务", "劳务派遣", "残疾人证", "低保", "临时救助", "高龄津贴",
           "殡葬", "宗教活动场所", "档案查阅", "户外广告", "城市道路占用", "燃气经营", "供水报装", "消防安全检查")
ACTIONS = ("许可", "登记", "备案", "变更", "注销", "延续", "补办", "核发", "审批", "申领", "查询打印", "年检",
           "证明开具", "资格认定", "迁入", "迁出", "首次申请", "换证", "遗失补领", "信息更正")
DEPT_BASE = ("市场监督管理局", "公安局", "民政局", "人力资源和社会保障局", "卫生健康局", "教育局", "交通运输局",
             "住房和城乡建设局", "自然资源局", "生态环境局", "农业农村局", "医疗保障局", "行政审批局", "税务局",
             "应急管理局")
AREAS = ("广安区", "前锋区", "岳池县", "武胜县")
MATERIALS = ("居民身份证", "户口簿", "营业执照", "申请表", "授权委托书", "结婚证", "出生医学证明", "房屋产权证明",
             "场所平面图", "健康证明", "学历证书", "劳动合同", "社会保障卡", "近期免冠照片", "法定代表人身份证明",
             "安全管理制度", "专业技术人员资格证书", "设备清单", "环境影响评价文件", "租赁合同")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def guides(n: int, seed: int = 1, start: int = 0) -> Iterator[Guide]:
    rnd = random.Random(seed)
    for i in range(start, start + n):
        obj, act = rnd.choice(OBJECTS), rnd.choice(ACTIONS)
        area = rnd.choice(AREAS)
        dept = f"广安市{area}{rnd.choice(DEPT_BASE)}"
        mats = rnd.sample(MATERIALS, rnd.randint(3, 8))
        yield Guide.model_validate({
            "item_code": f"1151{rnd.randrange(10**6):06d}MB{i:08d}{rnd.randrange(10**6):06d}",
            "name": f"{obj}{act}" + (f"（{rnd.choice(('个人', '企业', '县级', '市级'))}）" if rnd.random() < 0.3 else ""),
            "department": dept, "detail_complete": True, "updated_at": T0 + dt.timedelta(seconds=i),
            "materials": [{"name": m, "form": "原件", "copies": 1, "required": "必要"} for m in mats]})


if __name__ == "__main__":
    for g in guides(int(sys.argv[1])):
        sys.stdout.write(g.model_dump_json() + "\n")
