"""Fill the guide database: the real 广安区 catalogue plus hand-written details for common items.

The catalogue (1,135 items: names, codes, departments, portal links) is a public dataset, see
data/guides-guangan/README.md for its source and licence; keep that attribution with the data.
It has no materials, time limits or fees, so:

- ``HAND_WRITTEN`` gives complete details for about 30 items citizens ask for most (ID card,
  passport, household, residence permit, social and medical insurance, social security card,
  marriage and divorce, birth, disability and old-age benefits, retirement, tax records, sole
  trader).
  They are EXAMPLES written from national law and common practice, not 广安区's published
  guides; ``source`` says so, and a real deployment replaces them with the province's data.
- ``KEYWORDS`` adds everyday words (社保, 营业执照, 医保 ...) to items whose official name does
  not contain them, so a citizen's word finds the official item.
- every other item gets a plain default with ``detail_complete: false``, which the kiosk shows as
  "请到窗口咨询".

Seeding is idempotent: unchanged items are not rewritten (their updated_at stays), so it can run
on every start. Run it by hand with ``python -m central.seed DB_PATH``.

Life events (一件事: 出生, 上学, ... each with the catalogue items it takes) come from the reviewed
file data/life-events.json (its ``source`` says where the grouping comes from); ``load_life_events``
checks every item against the catalogue by code and name, as for ``HAND_WRITTEN``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central.db import GuideStore
from contract.models import GuideDetail

DATA_DIR = Path(__file__).resolve().parent / "data" / "guides-guangan"
CATALOGUE_CSV = DATA_DIR / "bszl-data.derived.csv"
LIFE_EVENTS_JSON = DATA_DIR.parent / "life-events.json"

PLACE = "广安区政务服务中心"
HOURS = "周一至周五 9:00-12:00 13:30-17:00"
PHONE = "12345（政务服务便民热线）"
EXAMPLE_SOURCE = ("示例指南：依据国家法律法规和通行做法编写，并非广安区官方发布的办事指南，"
                  "办理前请以窗口最新告知为准")
CATALOGUE_SOURCE = "事项目录：v-luobo/zwfw bszl-data.js（Apache-2.0）；详细材料请到窗口咨询"


def _m(name: str, form: str, copies: int, required: str, note: str = "") -> dict[str, Any]:
    return {"name": name, "form": form, "copies": copies, "required": required, "note": note}


def _guide(name: str, keywords: list[str], **detail: Any) -> dict[str, Any]:
    detail = {"detail_complete": True, "hours": HOURS, "phone": PHONE, "source": EXAMPLE_SOURCE,
              **detail}
    return {"name": name, "keywords": keywords, "detail": detail}


# item_code -> expected catalogue name, search keywords, details. The name is checked against the
# catalogue at seed time so a changed catalogue cannot silently attach details to another item.
HAND_WRITTEN: dict[str, dict[str, Any]] = {
    "513A0011200068-511602000000-000-1151130000877869M-1-00": _guide(
        "居民身份证办理（包括临时）", ["身份证", "办身份证", "换身份证", "补身份证", "临时身份证"],
        conditions=("在广安区登记常住户口的中国公民申领、换领、补领居民身份证；未满十六周岁的，由监护人"
                    "陪同或代为申请。人像和指纹在窗口现场免费采集，无需自带照片。急需用证的可同时申领"
                    "临时居民身份证。"),
        materials=[
            _m("居民户口簿", "原件", 1, "必要", "核对户籍信息后当场退还"),
            _m("原居民身份证", "原件", 1, "非必要", "换领时交回；丢失补领的无需提供"),
            _m("监护人居民身份证", "原件", 1, "非必要", "未满十六周岁的申请人提供"),
        ],
        legal_limit_days=None, promised_limit_days=20, handling_type="承诺件", visits=1,
        fee="工本费：申领、换领 20 元；丢失补领、损坏换领 40 元；临时居民身份证 10 元",
        place=f"{PLACE} 公安户政窗口（也可到户籍所在地派出所办理）",
        basis="《中华人民共和国居民身份证法》；《临时居民身份证管理办法》",
        limit_note="法定时限：自提交申领登记表之日起 60 日内发放（交通不便地区可延长，最多 30 日）；"
                   "可选择邮寄送达，无需再到现场领取",
        # An example of a guide the platform has in other languages (the others are converted or
        # shown in Chinese with a note); the materials follow the Chinese list in order.
        translations={
            "en": {
                "name": "Resident identity card (including temporary card)",
                "department": "District Public Security Sub-bureau",
                "fee": "Card fee: first card or renewal CNY 20; replacing a lost or damaged card CNY 40; "
                       "temporary card CNY 10",
                "place": "Guang'an District Government Service Center, police household registration window "
                         "(or the police station where your household is registered)",
                "hours": "Monday to Friday 9:00-12:00, 13:30-17:00",
                "conditions": "Chinese citizens with permanent household registration in Guang'an District "
                              "applying for, renewing or replacing an ID card; under-16s apply with a guardian. "
                              "Photo and fingerprints are taken free of charge at the window.",
                "limit_note": "By law the card is issued within 60 days of the application (up to 30 more in "
                              "remote areas); it can be posted to you.",
                "materials": [
                    {"name": "Household register (hukou booklet)", "note": "Checked and handed back at once"},
                    {"name": "Your current ID card", "note": "Handed in when renewing; not needed if lost"},
                    {"name": "Guardian's ID card", "note": "For applicants under 16"},
                ],
            },
            "zh_TW": {
                "name": "居民身分證辦理（包括臨時）",
                "department": "區公安分局",
                "fee": "工本費：申領、換領 20 元；遺失補領、損壞換領 40 元；臨時居民身分證 10 元",
                "place": "廣安區政務服務中心 公安戶政窗口（也可到戶籍所在地派出所辦理）",
                "hours": "週一至週五 9:00-12:00 13:30-17:00",
                "materials": [
                    {"name": "居民戶口名簿", "note": "核對戶籍資料後當場退還"},
                    {"name": "原居民身分證", "note": "換領時交回；遺失補領的無需提供"},
                    {"name": "監護人居民身分證", "note": "未滿十六歲的申請人提供"},
                ],
            },
        },
    ),
    "511F09014002-511602000000-000-11511300008778693M-1-00": _guide(
        "户口登记", ["上户口", "落户", "出生登记", "新生儿上户"],
        conditions=("本指南以新生儿出生登记为例：婴儿出生后一个月以内，由户主、亲属、抚养人向婴儿常住地"
                    "户口登记机关申报出生登记。其他户口登记情形请到窗口咨询。"),
        materials=[
            _m("《出生医学证明》", "原件", 1, "必要"),
            _m("随其落户的父亲或母亲的居民户口簿", "原件", 1, "必要"),
            _m("父母双方居民身份证", "原件", 1, "必要", "各 1 份"),
            _m("父母结婚证", "原件", 1, "非必要", "非婚生育的，按窗口告知提供其他证明"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="不收费",
        place=f"{PLACE} 公安户政窗口（也可到户籍所在地派出所办理）",
        basis="《中华人民共和国户口登记条例》（第七条：婴儿出生后一个月以内申报出生登记）",
        limit_note="材料齐全的当场办结",
    ),
    "512B0011200070-511602000000-000-11511300008778693M-1-00": _guide(
        "居住证办理", ["居住证", "暂住证"],
        conditions=("离开常住户口所在地，到广安区居住半年以上，且有合法稳定就业、合法稳定住所、"
                    "连续就读三项条件之一的公民。"),
        materials=[
            _m("居民身份证", "原件", 1, "必要"),
            _m("本人近期相片", "原件", 1, "必要", "可在窗口现场采集"),
            _m("居住地住址证明（房屋产权证明或租赁合同等）", "原件及复印件", 1, "必要"),
            _m("就业或就读证明（劳动合同、营业执照或学生证等）", "原件及复印件", 1, "非必要",
               "以就业或就读为申领条件的提供"),
        ],
        legal_limit_days=None, promised_limit_days=10, handling_type="承诺件", visits=1,
        fee="首次申领免收工本费；换领、补领收取工本费",
        place=f"{PLACE} 公安户政窗口（也可到居住地派出所办理）",
        basis="《居住证暂行条例》（国务院令第663号）",
        limit_note="法定时限：自受理之日起 15 日内制作发放；可选择邮寄送达",
    ),
    "51201401800006-511602000000-000-12511301452260997J-1-00": _guide(
        "个人参保证明查询打印", ["社保", "社保证明", "参保证明", "社保缴费证明", "社保查询"],
        conditions="在广安区参加社会保险的个人，查询、打印本人社会保险参保缴费证明。",
        materials=[
            _m("社会保障卡或居民身份证", "原件", 1, "必要", "本人办理"),
            _m("授权委托书及受托人居民身份证", "原件", 1, "非必要", "委托他人代办时提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=0,
        fee="不收费",
        place=f"{PLACE} 人社窗口；也可在本自助终端或四川人社网上服务大厅自助打印",
        basis=("《中华人民共和国社会保险法》（第七十四条：用人单位和个人可以免费向社会保险经办机构查询、"
               "核对其缴费和享受社会保险待遇记录）"),
        limit_note="当场打印",
    ),
    "512B0359100011-511602000000-000-12511301452262044F-1-00": _guide(
        "城乡居民基本养老保险参保登记", ["社保", "养老保险", "居民养老", "农村养老保险"],
        conditions=("年满 16 周岁（不含在校学生），非国家机关和事业单位工作人员，且不属于职工基本养老"
                    "保险覆盖范围的城乡居民，可在户籍地参加城乡居民基本养老保险。"),
        materials=[
            _m("社会保障卡或居民身份证", "原件", 1, "必要"),
            _m("《城乡居民基本养老保险参保登记表》", "原件", 1, "必要", "窗口领取，当场填写"),
            _m("居民户口簿", "原件", 1, "非必要", "户籍信息无法联网核验时提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="参保登记不收费；养老保险费按本人选择的缴费档次缴纳",
        place=f"{PLACE} 人社窗口（也可到户籍所在地乡镇（街道）便民服务中心办理）",
        basis=("《中华人民共和国社会保险法》；《国务院关于建立统一的城乡居民基本养老保险制度的意见》"
               "（国发〔2014〕8号）"),
        limit_note="材料齐全的当场办结",
    ),
    "512B0070100003-511602000000-000-1151130108778239R-1-00": _guide(
        "失业保险金申领", ["社保", "失业金", "失业保险", "领失业金"],
        conditions=("失业前用人单位和本人已经缴纳失业保险费满一年，非因本人意愿中断就业，已经进行失业"
                    "登记并有求职要求的失业人员。"),
        materials=[
            _m("社会保障卡或居民身份证", "原件", 1, "必要"),
            _m("与用人单位解除或者终止劳动关系的证明", "复印件", 1, "非必要",
               "经办机构能通过信息共享核验的，免于提交"),
        ],
        legal_limit_days=None, promised_limit_days=5, handling_type="承诺件", visits=1,
        fee="不收费",
        place=f"{PLACE} 人社窗口（也可通过四川人社网上服务大厅申领）",
        basis="《中华人民共和国社会保险法》（第四十五条）；《失业保险条例》；《失业保险金申领发放办法》",
        limit_note="经办机构自受理申请之日起 10 日内审核并告知结果",
    ),
    "511F0287300000-511602000000-000-11511301008778298W-1-00": _guide(
        "中国内地公民婚姻登记", ["结婚", "结婚登记", "结婚证", "领证", "离婚"],
        conditions=("本指南以结婚登记为例：男年满 22 周岁、女年满 20 周岁，双方完全自愿，均无配偶，且"
                    "没有直系血亲和三代以内旁系血亲关系的内地居民，双方须共同到场申请。离婚登记请先办理"
                    "“离婚登记预约”。"),
        materials=[
            _m("男女双方居民身份证", "原件", 1, "必要", "各 1 份"),
            _m("双方近期半身免冠合影照片（2 寸）", "原件", 3, "必要"),
            _m("本人无配偶以及与对方没有直系血亲和三代以内旁系血亲关系的签字声明", "原件", 1, "必要",
               "在登记处当场填写并签字"),
            _m("居民户口簿", "原件", 1, "非必要", "身份信息无法核验时按窗口要求提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="不收费",
        place=f"{PLACE} 婚姻登记窗口",
        basis="《中华人民共和国民法典》婚姻家庭编；《婚姻登记条例》",
        limit_note="符合条件的当场登记、发给结婚证",
    ),
    "512023377001-511602000000-000-11511301008778490F-1-00": _guide(
        "《出生医学证明》首次签发", ["出生证", "出生证明", "新生儿", "出生医学证明"],
        conditions=("在依法取得助产技术服务资质的医疗机构出生的新生儿，由出生医院首次签发《出生医学证明》；"
                    "在医疗机构外出生的，请到窗口咨询。"),
        materials=[
            _m("父母双方居民身份证", "原件", 1, "必要", "各 1 份"),
            _m("《出生医学证明》首次签发登记表", "原件", 1, "必要", "在出生医院填写，由父母签字确认"),
            _m("父母结婚证", "原件", 1, "非必要"),
        ],
        legal_limit_days=None, promised_limit_days=3, handling_type="承诺件", visits=1,
        fee="不收费",
        place=f"新生儿出生的助产医疗机构；咨询：{PLACE} 卫生健康窗口",
        basis="《中华人民共和国母婴保健法》及其实施办法",
        limit_note="材料齐全的，出生医院一般在新生儿出院前签发",
    ),
    "511A0074300005-511602000000-000-115113016823646795-1-00": _guide(
        "个体工商户设立登记", ["营业执照", "办营业执照", "个体户", "开店", "工商执照"],
        conditions=("有经营能力的公民，可以个人经营或者家庭经营的形式申请登记为个体工商户；从事法律、"
                    "行政法规禁止进入的行业的除外，经营项目须经许可的应先取得许可。"),
        materials=[
            _m("个体工商户登记（备案）申请书", "原件", 1, "必要", "窗口或网上填写，经营者签字"),
            _m("经营者居民身份证", "原件", 1, "必要", "委托代理的，另附委托书和代理人身份证"),
            _m("经营场所使用证明（产权证明或租赁合同）", "复印件", 1, "必要",
               "实行住所申报承诺制的，按窗口告知提交承诺书"),
            _m("前置许可文件", "复印件", 1, "非必要", "经营项目须经许可的提供"),
        ],
        legal_limit_days=3, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="不收费",
        place=f"{PLACE} 市场主体登记窗口（也可通过四川省市场主体登记网上办理，零跑腿）",
        basis="《促进个体工商户发展条例》；《中华人民共和国市场主体登记管理条例》及其实施细则",
        limit_note="材料齐全、符合法定形式的当场登记；不能当场登记的 3 个工作日内登记",
    ),
    "512036001003-511602000000-000-11511301MB15537661-1-00": _guide(
        "城乡居民参保登记", ["医保", "居民医保", "医疗保险", "新生儿医保"],
        conditions=("未参加职工基本医疗保险的城乡居民，包括新生儿、在校学生和按规定可参加居民医保的"
                    "其他人员。"),
        materials=[
            _m("居民身份证或居民户口簿", "原件", 1, "必要"),
            _m("《出生医学证明》", "原件", 1, "非必要", "新生儿参保时提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="参保登记不收费；个人缴费按当年城乡居民医保筹资标准缴纳",
        place=f"{PLACE} 医保窗口（也可到户籍所在地乡镇（街道）便民服务中心办理）",
        basis="《中华人民共和国社会保险法》；《国务院关于整合城乡居民基本医疗保险制度的意见》（国发〔2016〕3号）",
        limit_note="材料齐全的当场办结",
    ),
}

# More common items (EXAMPLES like the ones above; ``source`` says so). Department windows are
# named after the 广安区 catalogue's department.
HAND_WRITTEN.update({
    "511A0116400001-511602000000-000-11511300008778693M-1-00": _guide(
        "普通护照签发", ["护照", "办护照", "出国"],
        conditions="中国内地居民因私出国（境），可向户籍地或居住地出入境管理机构申请普通护照。",
        materials=[
            _m("居民身份证", "原件", 1, "必要"),
            _m("《中国公民出入境证件申请表》", "原件", 1, "必要", "窗口现场填写，照片现场采集"),
            _m("监护人同意出境意见书及监护人身份证", "原件", 1, "非必要", "未满十六周岁的申请人提供"),
        ],
        legal_limit_days=None, promised_limit_days=7, handling_type="承诺件", visits=1,
        fee="普通护照 120 元/本（首次申领、换发、补发同价）",
        place=f"{PLACE} 公安出入境窗口", basis="《中华人民共和国护照法》；《中华人民共和国出境入境管理法》",
        limit_note="法定时限：受理之日起 15 日内签发；可选择邮寄送达",
    ),
    "513A0011200066-511602000000-000-1151130000877869M-1-00": _guide(
        "居民身份证挂失申报、丢失招领", ["身份证丢了", "身份证挂失", "捡到身份证"],
        conditions="居民身份证丢失的本人申报挂失；拾得他人居民身份证的交公安机关招领。",
        materials=[_m("居民户口簿或其他身份证明", "原件", 1, "必要", "挂失时核对身份")],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1, fee="不收费",
        place=f"{PLACE} 公安户政窗口（也可到任一派出所办理）",
        basis="《中华人民共和国居民身份证法》", limit_note="当场办结；挂失后可同时申请补领",
    ),
    "513A0116800006-511602000000-000-1151130000877869M-1-00": _guide(
        "临时身份证明", ["临时身份证明", "乘车证明", "住宿证明"],
        conditions="居民身份证丢失、损坏或正在办理，急需乘车、住宿等证明身份的本地户籍居民。",
        materials=[_m("居民户口簿", "原件", 1, "必要"), _m("本人近期相片", "原件", 1, "非必要", "可现场采集")],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1, fee="不收费",
        place=f"{PLACE} 公安户政窗口（也可到户籍地派出所办理）", basis="公安部关于户籍管理的有关规定",
        limit_note="当场出具，注明有效期",
    ),
    "511A09001023-511602000000-000-11511300008778693M-1-00": _guide(
        "犬类准养证核发", ["养狗", "狗证", "犬证"],
        conditions="在城市重点管理区域饲养犬只的个人，犬只已接种狂犬病疫苗，且不属禁养犬种。",
        materials=[
            _m("养犬人居民身份证", "原件", 1, "必要"),
            _m("犬只狂犬病免疫证明", "原件", 1, "必要"),
            _m("犬只正面、侧面彩色照片", "电子", 0, "必要"),
            _m("住所证明（房产证或租赁合同）", "复印件", 1, "必要"),
        ],
        legal_limit_days=20, promised_limit_days=5, handling_type="承诺件", visits=1,
        fee="按本市犬只管理规定执行", place=f"{PLACE} 公安窗口",
        basis="《中华人民共和国动物防疫法》；地方养犬管理规定",
    ),
    "51201104200004-511602000000-000-11511301008778298W-1-00": _guide(
        "离婚登记预约", ["离婚", "离婚预约", "离婚登记"],
        conditions="自愿离婚、对子女抚养和财产处理已协商一致的内地居民夫妻，先预约再共同到场申请；"
                   "申请后有 30 日离婚冷静期。",
        materials=[
            _m("双方居民身份证", "原件", 1, "必要", "各 1 份"),
            _m("双方居民户口簿", "原件", 1, "必要", "各 1 份"),
            _m("结婚证", "原件", 1, "必要", "双方各持 1 本"),
            _m("双方签字的离婚协议书", "原件", 3, "必要"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=2, fee="不收费",
        place=f"{PLACE} 婚姻登记窗口", basis="《中华人民共和国民法典》第一千零七十六条至第一千零七十八条；《婚姻登记条例》",
        limit_note="冷静期 30 日届满后 30 日内，双方共同到场申请发给离婚证",
    ),
    "511F0287700000-511602000000-000-11511301008778298W-1-00": _guide(
        "中国公民收养子女登记", ["收养", "领养"],
        conditions="收养人无子女或只有一名子女，有抚养、教育和保护被收养人的能力，年满三十周岁，"
                   "且无不利于被收养人健康成长的违法犯罪记录。",
        materials=[
            _m("收养人居民户口簿和居民身份证", "原件", 1, "必要"),
            _m("收养人婚姻状况、抚养能力证明", "原件", 1, "必要"),
            _m("县级以上医疗机构出具的健康检查证明", "原件", 1, "必要"),
            _m("被收养人出生证明及送养人身份证明", "原件", 1, "必要"),
            _m("收养人与被收养人合影照片（2 寸）", "原件", 3, "必要"),
        ],
        legal_limit_days=30, promised_limit_days=20, handling_type="承诺件", visits=2, fee="不收费",
        place=f"{PLACE} 民政窗口", basis="《中华人民共和国民法典》婚姻家庭编第五章；《中国公民收养子女登记办法》",
        limit_note="法定时限：收到申请之日起 30 日内审查",
    ),
    "512B0003600031-511602000000-000-11511301008778298W-1-00": _guide(
        "临时救助", ["救助", "困难补助", "急难救助"],
        conditions="因火灾、交通事故、突发重大疾病等原因，基本生活暂时出现严重困难的家庭或个人。",
        materials=[
            _m("申请人居民身份证或户口簿", "原件", 1, "必要"),
            _m("临时救助申请书", "原件", 1, "必要", "可在窗口填写"),
            _m("困难情况证明（医疗费用票据、事故证明等）", "复印件", 1, "必要"),
            _m("家庭经济状况核对授权书", "原件", 1, "必要"),
        ],
        legal_limit_days=None, promised_limit_days=10, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 民政窗口（也可向户籍地乡镇（街道）申请）",
        basis="《社会救助暂行办法》（国务院令第649号）第四十七条至第五十一条",
        limit_note="情况紧急的可先行救助，事后补办手续",
    ),
    "512B0003600037-511602000000-000-11511301008778298W-1-00": _guide(
        "80周岁以上老年人高龄津贴发放", ["高龄津贴", "老人补贴", "高龄补贴"],
        conditions="具有本区户籍、年满 80 周岁的老年人。",
        materials=[
            _m("老年人居民身份证或户口簿", "原件", 1, "必要"),
            _m("社会保障卡或本人银行账户", "复印件", 1, "必要", "用于发放津贴"),
            _m("代办人居民身份证", "原件", 1, "非必要", "他人代办时提供"),
        ],
        legal_limit_days=None, promised_limit_days=15, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 民政窗口（也可到户籍地乡镇（街道）便民服务中心办理）",
        basis="《中华人民共和国老年人权益保障法》；四川省高龄津贴相关规定",
        limit_note="审核通过后次月起按月发放",
    ),
    "51201103900004-511602000000-000-11511301008778298W-1-00": _guide(
        "重度残疾人护理补贴", ["残疾补贴", "护理补贴"],
        conditions="持第二代残疾人证、残疾等级为一级或二级且需要长期照护的重度残疾人。",
        materials=[
            _m("第二代中华人民共和国残疾人证", "原件", 1, "必要"),
            _m("居民身份证或户口簿", "原件", 1, "必要"),
            _m("补贴申请审核表", "原件", 1, "必要", "窗口领取填写"),
        ],
        legal_limit_days=None, promised_limit_days=20, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 民政窗口（也可向户籍地乡镇（街道）申请）",
        basis="《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）",
    ),
    "51201103900003-511602000000-000-11511301008778298W-1-00": _guide(
        "困难残疾人生活补贴", ["残疾补贴", "生活补贴"],
        conditions="持第二代残疾人证的最低生活保障家庭中的残疾人。",
        materials=[
            _m("第二代中华人民共和国残疾人证", "原件", 1, "必要"),
            _m("居民身份证或户口簿", "原件", 1, "必要"),
            _m("补贴申请审核表", "原件", 1, "必要", "窗口领取填写"),
        ],
        legal_limit_days=None, promised_limit_days=20, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 民政窗口（也可向户籍地乡镇（街道）申请）",
        basis="《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》（国发〔2015〕52号）",
    ),
    "511F82001002-511602000000-000-11511301452259996U-1-00": _guide(
        "残疾人证新办", ["残疾证", "办残疾证"],
        conditions="符合残疾标准的本区户籍居民，经指定医疗机构评定残疾类别和等级后申领。",
        materials=[
            _m("居民身份证或户口簿", "原件", 1, "必要"),
            _m("近期 2 寸免冠彩色照片", "原件", 3, "必要"),
            _m("《残疾人证申请表》", "原件", 1, "必要", "窗口领取，评残后由医疗机构填写评定意见"),
        ],
        legal_limit_days=None, promised_limit_days=20, handling_type="承诺件", visits=2, fee="不收费",
        place=f"{PLACE} 残联窗口", basis="《中华人民共和国残疾人保障法》；《中华人民共和国残疾人证管理办法》",
        limit_note="评残所需时间不计入承诺时限（特别程序）",
    ),
    "512B0357300000-511602000000-000-11511301008778490F-1-00": _guide(
        "申领《四川省老年人优待证》", ["老年证", "老年人优待证", "敬老卡"],
        conditions="年满 60 周岁的本省户籍老年人及在本省居住的外省老年人。",
        materials=[
            _m("居民身份证", "原件", 1, "必要"),
            _m("近期 1 寸免冠彩色照片", "原件", 1, "非必要", "可现场采集"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1, fee="不收费",
        place=f"{PLACE} 卫生健康窗口", basis="《中华人民共和国老年人权益保障法》；四川省老年人优待办法",
        limit_note="当场办结",
    ),
    "512B0070200003-511602000000-000-1151130108778239R-1-00": _guide(
        "社会保障卡申领", ["社保卡", "办社保卡"],
        conditions="已参加社会保险、尚未申领社会保障卡的人员。",
        materials=[
            _m("居民身份证", "原件", 1, "必要"),
            _m("近期 1 寸免冠彩色照片", "电子", 0, "非必要", "可现场采集"),
            _m("监护人居民身份证", "原件", 1, "非必要", "未成年人申领时提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="首次申领免费", place=f"{PLACE} 人社窗口（社保卡即时制卡点）",
        basis="《中华人民共和国社会保险法》；《社会保障卡管理办法》", limit_note="即时制卡点当场领卡",
    ),
    "512B0070200006-511602000000-000-1151130108778239R-1-00": _guide(
        "社会保障卡补领、换领、换发", ["社保卡", "补社保卡", "换社保卡"],
        conditions="社会保障卡遗失、损坏或到期需要补领、换领的持卡人。",
        materials=[_m("居民身份证", "原件", 1, "必要"), _m("原社会保障卡", "原件", 1, "非必要", "换领时交回")],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="遗失补领、人为损坏换领按省定标准收取工本费；到期换发免费",
        place=f"{PLACE} 人社窗口（社保卡即时制卡点）", basis="《社会保障卡管理办法》",
        limit_note="补领前须先挂失；即时制卡点当场领卡",
    ),
    "512B0070200008-511602000000-000-1151130108778239R-1-00": _guide(
        "社会保障卡挂失", ["社保卡丢了", "社保卡挂失"],
        conditions="社会保障卡遗失或被盗的持卡人。",
        materials=[_m("居民身份证", "原件", 1, "必要")],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=0, fee="不收费",
        place=f"{PLACE} 人社窗口；也可拨打 12333 或通过电子社保卡挂失",
        basis="《社会保障卡管理办法》", limit_note="即时生效",
    ),
    "512B0066800002-511602000000-000-1151130108778239R-1-00": _guide(
        "失业登记", ["失业", "失业登记"],
        conditions="法定劳动年龄内、有劳动能力和就业要求、处于无业状态的城乡劳动者。",
        materials=[_m("居民身份证或社会保障卡", "原件", 1, "必要")],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=0, fee="不收费",
        place=f"{PLACE} 人社窗口；也可在四川人社网上服务大厅办理",
        basis="《中华人民共和国就业促进法》；《就业服务与就业管理规定》", limit_note="当场办结",
    ),
    "512B0066800001-511602000000-000-1151130108778239R-1-00": _guide(
        "就业登记", ["就业", "就业登记"],
        conditions="用人单位招用人员或劳动者灵活就业、自主创业后办理就业登记。",
        materials=[
            _m("劳动者居民身份证或社会保障卡", "原件", 1, "必要"),
            _m("劳动合同或营业执照", "复印件", 1, "非必要", "按就业形式提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=0, fee="不收费",
        place=f"{PLACE} 人社窗口；也可网上办理",
        basis="《中华人民共和国就业促进法》；《就业服务与就业管理规定》", limit_note="当场办结",
    ),
    "51201400600001-511602000000-000-12511301452260997J-1-00": _guide(
        "企业职工基本养老保险正常退休申请", ["退休", "办退休", "养老金"],
        conditions="达到法定退休年龄、累计缴费满 15 年（含视同缴费年限）的企业职工基本养老保险参保人员。",
        materials=[
            _m("居民身份证或社会保障卡", "原件", 1, "必要"),
            _m("本人档案", "原件", 1, "非必要", "由单位或档案保管机构提供"),
            _m("退休申请表", "原件", 1, "必要", "单位或本人填写"),
        ],
        legal_limit_days=None, promised_limit_days=20, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 人社窗口", basis="《中华人民共和国社会保险法》第十六条",
        limit_note="核准后次月起按月发放基本养老金",
    ),
    "512036008004-511602000000-000-11511301MB15537661-1-00": _guide(
        "生育津贴支付", ["生育津贴", "生育保险", "产假工资"],
        conditions="参加职工基本医疗保险（生育保险）的职工，按规定享受产假期间的生育津贴。",
        materials=[
            _m("居民身份证或社会保障卡", "原件", 1, "必要"),
            _m("出生医学证明或医疗机构诊断证明", "复印件", 1, "必要"),
            _m("单位开户银行账户信息", "复印件", 1, "非必要", "由单位申领时提供"),
        ],
        legal_limit_days=None, promised_limit_days=20, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 医保窗口", basis="《中华人民共和国社会保险法》第五十四条至第五十六条",
    ),
    "512036005001-511602000000-000-11511301MB15537661-1-00": _guide(
        "异地安置退休人员备案", ["异地就医", "异地备案", "医保备案"],
        conditions="退休后长期在参保地以外居住的职工医保或居民医保参保人。",
        materials=[
            _m("社会保障卡或居民身份证", "原件", 1, "必要"),
            _m("《异地就医备案登记表》", "原件", 1, "必要", "窗口或网上填写；实行个人承诺制的无需其他证明"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=0, fee="不收费",
        place=f"{PLACE} 医保窗口；也可通过国家医保服务平台 APP 办理",
        basis="《关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》（医保发〔2022〕22号）",
        limit_note="当场备案，备案后可直接结算",
    ),
    "51203001500004-511602000000-000-11511301MB1549994W-1-00": _guide(
        "开具个人所得税纳税记录（县级行使）", ["纳税证明", "个税证明", "完税证明"],
        conditions="需要证明本人个人所得税缴纳情况的纳税人。",
        materials=[
            _m("居民身份证", "原件", 1, "必要"),
            _m("代办人居民身份证及授权委托书", "原件", 1, "非必要", "委托他人代办时提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=0, fee="不收费",
        place=f"{PLACE} 税务窗口；也可通过个人所得税 APP 开具",
        basis="《中华人民共和国个人所得税法》；《国家税务总局关于将个人所得税〈税收完税证明〉（文书式）调整为"
              "〈纳税记录〉有关事项的公告》（2018年第55号）",
        limit_note="当场开具",
    ),
    "511Z3000500007-511602000000-000-11511301MB1549994W-1-00": _guide(
        "代开增值税普通发票（县级行使）", ["代开发票", "开发票"],
        conditions="已办理税务登记的小规模纳税人及其他按规定可申请代开的单位和个人，发生应税行为需要开具发票的。",
        materials=[
            _m("代开增值税发票缴纳税款申报单", "原件", 1, "必要"),
            _m("经办人居民身份证", "原件", 1, "必要"),
            _m("合同或其他业务证明", "复印件", 1, "非必要", "税务机关要求时提供"),
        ],
        legal_limit_days=None, promised_limit_days=0, handling_type="即办件", visits=1,
        fee="不收取代开费用；按规定缴纳税款", place=f"{PLACE} 税务窗口",
        basis="《中华人民共和国发票管理办法》", limit_note="当场办结",
    ),
    "511A0138600000-511602000000-000-115113010833722043-1-00": _guide(
        "教师资格认定", ["教师资格证", "教资认定"],
        conditions="具备规定学历、普通话水平达标、通过教师资格考试并体检合格的中国公民。",
        materials=[
            _m("居民身份证", "原件", 1, "必要"),
            _m("学历证书", "原件", 1, "必要", "可联网核验的免于提交"),
            _m("县级以上医院出具的体检表", "原件", 1, "必要"),
            _m("普通话水平测试等级证书", "原件", 1, "必要", "可联网核验的免于提交"),
            _m("近期 1 寸免冠彩色照片", "电子", 0, "必要"),
        ],
        legal_limit_days=30, promised_limit_days=20, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 教育窗口；网上申报在“中国教师资格网”",
        basis="《中华人民共和国教师法》；《教师资格条例》；《〈教师资格条例〉实施办法》",
        limit_note="法定时限：受理期限终止之日起 30 日内作出决定",
    ),
    "511A62001001-511602000000-000-TE5116020105116050-1-00": _guide(
        "烟草专卖零售许可证新办", ["烟草证", "卖烟", "烟草许可"],
        conditions="有与经营烟草制品零售业务相适应的资金和固定经营场所，符合当地合理布局要求的经营者。",
        materials=[
            _m("烟草专卖零售许可证申请表", "原件", 1, "必要"),
            _m("营业执照", "复印件", 1, "必要"),
            _m("经营者居民身份证", "复印件", 1, "必要"),
            _m("经营场所使用证明", "复印件", 1, "必要"),
        ],
        legal_limit_days=20, promised_limit_days=10, handling_type="承诺件", visits=1, fee="不收费",
        place=f"{PLACE} 烟草专卖窗口", basis="《中华人民共和国烟草专卖法》及其实施条例",
        limit_note="需实地核查的，核查时间不计入承诺时限",
    ),
})

# Everyday words for items whose official name lacks them (item_code -> (expected name, words)).
KEYWORDS: dict[str, tuple[str, list[str]]] = {
    "512036001008-511602000000-000-11511301MB15537661-1-00": ("医保电子凭证申领", ["医保", "医保码"]),
    "512036001002-511602000000-000-11511301MB15537661-1-00": ("职工参保登记", ["医保", "职工医保"]),
    "511A0064100070-511602000000-000-115113016823646795-1-00": ("公司设立登记",
                                                                ["营业执照", "开公司", "注册公司"]),
    "511A0074300011-511602000000-000-115113016823646795-1-00": ("个体工商户变更登记（备案）",
                                                                ["营业执照", "个体户"]),
    "511A0074300009-511602000000-000-115113016823646795-1-00": ("个体工商户注销登记",
                                                                ["营业执照", "个体户"]),
    "512B0067900008-511602000000-000-1151130108778239R-1-00": ("企业职工参保登记", ["社保", "社保开户"]),
    "512B0369200000-511602000000-000-12511301452260997J-1-00": ("灵活就业人员企业职工基本养老保险参保登记",
                                                                ["社保", "灵活就业社保"]),
    "512B0003600027-511602000000-000-11511301008778298W-1-00": ("补领结婚证", ["结婚证"]),
    "511A0147300000-511602000000-000-11511300008778693M-1-00": ("户口迁移审批", ["迁户口", "落户"]),
}

_DEFAULT_DETAIL = GuideDetail(detail_complete=False, fee="请到窗口咨询", source=CATALOGUE_SOURCE)


@dataclass(frozen=True)
class SeedReport:
    total: int  # items in the catalogue
    written: int  # items inserted or changed by this run
    seconds: float


def load_catalogue(path: Path = CATALOGUE_CSV) -> list[dict[str, Any]]:
    """The catalogue CSV (UTF-8 with BOM) as rows for GuideStore.upsert, details attached."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for line_no, rec in enumerate(csv.DictReader(fh), start=2):
            code = (rec.get("itemCode") or "").strip()
            name = (rec.get("name") or "").strip()
            if not code or not name:
                raise ValueError(f"{path}:{line_no}: item without itemCode or name")
            if code in seen:
                raise ValueError(f"{path}:{line_no}: duplicate itemCode {code}")
            seen.add(code)
            rows.append({
                "item_code": code,
                "name": name,
                "department": (rec.get("department") or "").strip(),
                "main_item": (rec.get("main_item") or "").strip(),
                "task_type": (rec.get("taskType") or "").strip(),
                "area_code": (rec.get("areaCode") or "").strip(),
                "link": (rec.get("link") or "").strip(),
            })
    _attach_details(rows, path)
    return rows


def _attach_details(rows: list[dict[str, Any]], path: Path) -> None:
    by_code = {r["item_code"]: r for r in rows}
    for code, extra in HAND_WRITTEN.items():
        row = _check(by_code, code, extra["name"], path)
        unknown = set(extra["detail"]) - set(GuideDetail.model_fields)
        if unknown:  # the model ignores unknown keys; a typo here must not vanish silently
            raise ValueError(f"hand-written guide {code}: unknown detail fields {sorted(unknown)}")
        detail = GuideDetail.model_validate(extra["detail"])
        for lang, text in detail.translations.items():
            if text.materials and len(text.materials) != len(detail.materials):
                raise ValueError(f"hand-written guide {code}: {lang} lists {len(text.materials)} materials, "
                                 f"not {len(detail.materials)}")
        row["detail"] = detail.model_dump(mode="json")
        row["keywords"] = list(extra["keywords"])
    for code, (name, words) in KEYWORDS.items():
        _check(by_code, code, name, path).setdefault("keywords", []).extend(words)
    default = _DEFAULT_DETAIL.model_dump(mode="json")
    for row in rows:
        row.setdefault("detail", default)
        row.setdefault("keywords", [])


def _check(by_code: dict[str, dict[str, Any]], code: str, name: str, path: Path) -> dict[str, Any]:
    row = by_code.get(code)
    if row is None:
        raise ValueError(f"{path}: hand-written item {code} ({name}) is not in the catalogue")
    if row["name"] != name:
        raise ValueError(f"{path}: item {code} is now named {row['name']!r}, not {name!r}")
    return row


def seed(store: GuideStore | str | Path, csv_path: Path = CATALOGUE_CSV) -> SeedReport:
    """Load the catalogue into ``store`` (idempotent)."""
    started = time.perf_counter()
    if not isinstance(store, GuideStore):
        store = GuideStore(store)
    rows = load_catalogue(csv_path)
    written = store.upsert(rows)
    return SeedReport(total=len(rows), written=written, seconds=time.perf_counter() - started)


def seed_if_empty(store: GuideStore, csv_path: Path = CATALOGUE_CSV) -> SeedReport | None:
    """Seed a new database; leave one that already has guides alone (it may hold newer data)."""
    if store.count() > 0:
        return None
    return seed(store, csv_path)


def load_life_events(path: Path = LIFE_EVENTS_JSON, csv_path: Path = CATALOGUE_CSV) -> dict[str, Any]:
    """The reviewed life events: ``{"source": ..., "events": [{"code", "name", "note", "items":
    [item codes]}]}``. A code or item not in the catalogue, or an item under another name, is an
    error here rather than an event that quietly lists the wrong thing."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    by_code = {r["item_code"]: r for r in load_catalogue(csv_path)}
    events, seen = [], set()
    for event in doc["events"]:
        code = event["code"]
        if not code or code in seen or not event.get("name"):
            raise ValueError(f"{path}: life event {code!r} without a name, or listed twice")
        seen.add(code)
        items = [_check(by_code, item["item_code"], item["name"], path)["item_code"] for item in event["items"]]
        if len(set(items)) != len(items):
            raise ValueError(f"{path}: life event {code!r} lists an item twice")
        events.append({"code": code, "name": event["name"], "note": event.get("note", ""), "items": items})
    return {"source": doc.get("source", ""), "events": events}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m central.seed", description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="SQLite file to create or update")
    parser.add_argument("--csv", type=Path, default=CATALOGUE_CSV, help="catalogue CSV (UTF-8 with BOM)")
    args = parser.parse_args(argv)
    report = seed(args.db, args.csv)
    print(f"{args.db}: {report.total} items, {report.written} written, {report.seconds:.2f} s")
    events = load_life_events(csv_path=args.csv)["events"]
    print(f"{LIFE_EVENTS_JSON.name}: {len(events)} life events, {sum(len(e['items']) for e in events)} items, "
          "all in the catalogue")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
