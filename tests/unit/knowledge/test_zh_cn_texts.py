"""CLINICAL-RULES.md section 11 on the zh-CN texts of mappings/ (Z8): every text key is walked, whoever added
it. Only texts.yaml holds output texts in Chinese: the Chinese words of drugs.yaml (aliases) and patterns.yaml
(site words) are read inbound and never written."""

# ruff: noqa: N802, RUF001  # test names carry the rule IDs (test_Z1_...); the expected Chinese texts hold full-width punctuation by design (Z1)

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from service.knowledge import load_knowledge
from tests.conftest import REPO
from tests.unit.knowledge.zh_cn_style import (
    CJK,
    IDEOGRAPH,
    LOCAL_THERAPY,
    PLASMA_NON_INFORMATIVE,
    latin_problems,
    number_problems,
    phrase_problems,
    punctuation_problems,
)

KNOWLEDGE = load_knowledge(REPO / "mappings")


def _zh_cn_texts(path: Path) -> dict[str, str]:
    """Every ``zh-CN`` value in a mapping file, by the path of its key (texts.yaml: the text key)."""
    found: dict[str, str] = {}

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "zh-CN" and isinstance(value, str):
                    found[where] = value
                else:
                    walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")

    walk(yaml.safe_load(path.read_text(encoding="utf-8")), "")
    return found


TEXTS_LINES = (REPO / "mappings" / "texts.yaml").read_text(encoding="utf-8").splitlines()
ZH_CN = {
    f"{path.name}:{key}": text
    for path in sorted((REPO / "mappings").glob("*.yaml"))
    for key, text in _zh_cn_texts(path).items()
}


def test_Z8_no_text_key_twice() -> None:
    """Several people append to texts.yaml: a repeated key would silently replace the first (YAML)."""
    keys = [line.split(":", 1)[0].strip() for line in TEXTS_LINES if line.startswith("  ") and ": {" in line]
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_Z8_the_walk_finds_the_texts() -> None:
    """The walk sees every texts.yaml entry (the file's keys are all text keys)."""
    assert len([k for k in ZH_CN if k.startswith("texts.yaml:")]) == len(KNOWLEDGE.texts.texts)


@pytest.mark.parametrize("key", sorted(ZH_CN))
def test_Z1_full_width_punctuation_next_to_chinese(key: str) -> None:
    """No half-width , . ; : ( ) next to a CJK character, no space between CJK and Latin or digits."""
    assert punctuation_problems(ZH_CN[key]) == [], ZH_CN[key]


@pytest.mark.parametrize("key", sorted(ZH_CN))
def test_Z2_latin_only_from_the_allow_list(key: str) -> None:
    """Latin script only for genes, variants, trials, criteria, responses, Z2 abbreviations, units, codes."""
    assert latin_problems(ZH_CN[key]) == [], ZH_CN[key]


@pytest.mark.parametrize("key", sorted(ZH_CN))
def test_Z2_every_chinese_text_is_chinese(key: str) -> None:
    """A zh-CN text holds Chinese or full-width punctuation (a copied English text would pass the other
    checks only by luck); the criteria names are the exception Z2 names."""
    assert re.search(f"[{CJK}]", ZH_CN[key]) or ZH_CN[key] in {"RECIST 1.1", "iRECIST"}, ZH_CN[key]


@pytest.mark.parametrize("key", sorted(ZH_CN))
def test_Z3_numbers_and_Z4_phrases(key: str) -> None:
    """No hyphen-minus numbers or spaced percentages; the fixed phrases wherever their concept appears."""
    assert number_problems(ZH_CN[key]) + phrase_problems(ZH_CN[key]) == [], ZH_CN[key]


def zh(key: str) -> str:
    return KNOWLEDGE.texts.text(key, "zh-CN")


@pytest.mark.parametrize(
    ("key", "phrase"),
    [
        ("care-suggestion.local-ablative-therapy", LOCAL_THERAPY),
        ("assessment-flag.PLASMA_NON_INFORMATIVE", PLASMA_NON_INFORMATIVE),
        ("label.confirmed", "已确认"),
        ("label.unconfirmed", "未经确认"),
    ],
)
def test_Z4_fixed_phrases_are_the_texts(key: str, phrase: str) -> None:
    """The Z4 concepts are written exactly as Z4 says."""
    assert zh(key) == phrase


@pytest.mark.parametrize(
    ("key", "phrase"),
    [
        ("resistance-mechanism.EGFR-C797S-CIS", "C797S与T790M呈顺式构型"),
        ("resistance-mechanism.EGFR-C797S-TRANS", "C797S与T790M呈反式构型"),
        ("care-suggestion.mdt-trial-consideration", "（非标准治疗）"),
    ],
)
def test_Z4_fixed_phrases_inside_the_texts(key: str, phrase: str) -> None:
    """Cis/trans as 顺式构型/反式构型; the MDT/trial suggestion says 非标准治疗."""
    assert phrase in zh(key)


TABLE_11_1 = {
    "response-category.CR": "完全缓解（CR）",
    "response-category.PR": "部分缓解（PR）",
    "response-category.SD": "疾病稳定（SD）",
    "response-category.PD": "疾病进展（PD）",
    "response-category.NE": "无法评估（NE）",
    "response-category.NON-CR-NON-PD": "非完全缓解/非疾病进展（非CR/非PD）",
    "response-category.iCR": "免疫相关完全缓解（iCR）",
    "response-category.iPR": "免疫相关部分缓解（iPR）",
    "response-category.iSD": "免疫相关疾病稳定（iSD）",
    "response-category.iUPD": "待证实的疾病进展（iUPD）",
    "response-category.iCPD": "已证实的疾病进展（iCPD）",
    "label.best-response": "最佳总体疗效",
    "label.baseline": "基线",
    "label.nadir": "最低值",
    "progression-status.no-progression": "未见疾病进展",
    "progression-status.progression-uncertain": "疾病进展尚不能确定",
    "progression-status.progression-supported": "疾病进展证据充分",
    "progression-status.iupd": "待证实的疾病进展（iUPD）",
    "progression-status.icpd": "已证实的疾病进展（iCPD）",
}
TABLE_11_2 = {
    "WITHIN_MEASUREMENT_ERROR": "变化在测量误差范围内",
    "BORDERLINE_PD": "临界性疾病进展",
    "MEASUREMENT_CONTEXT_CHANGED": "测量条件改变（设备、层厚、增强期相或阅片者不同）",
    "SMALL_LESION_VARIABILITY": "小病灶测量变异较大",
    "TARGET_PR_CARRIED_FORWARD": "维持部分缓解（PR）判定",
    "NODAL_CR_PD_CONFLICT": "淋巴结靶病灶完全缓解与疾病进展判定冲突，需复核",
    "EQUIVOCAL_NEW_LESION": "可疑新病灶，需随访确认",
    "REVIEW_CR_VALIDITY": "需复核完全缓解（CR）判定",
    "NOT_CLINICALLY_STABLE": "临床状况不稳定",
    "NT_INCREASE_NOT_CONFIRMED": "非靶病灶进一步增大未获确认",
    "CEA_RISE_SIGNIFICANT": "癌胚抗原（CEA）显著升高（已复查确认）",
    "CEA_DOUBLED": "癌胚抗原（CEA）倍增",
    "CEA_EARLY_SURGE_CAUTION": "新治疗早期癌胚抗原（CEA）可能一过性升高，需谨慎解读",
    "MARKER_CONCORDANT": "肿瘤标志物变化与影像学一致",
    "MARKER_DISCORDANT": "肿瘤标志物变化与影像学不一致",
    "MARKER_RISE_WITHOUT_PROGRESSION": "肿瘤标志物升高，但影像学未见疾病进展",
    "NE_MARKER_RISING": "神经元特异性烯醇化酶（NSE）或胃泌素释放肽前体（ProGRP）持续升高",
    "MOLECULAR_RESPONSE": "分子学缓解",
    "CTDNA_CLEARANCE": "循环肿瘤DNA（ctDNA）清除",
    "MOLECULAR_PROGRESSION": "分子学进展（探索性）",
    "PLASMA_RESISTANCE_FOUND": "血浆检测发现耐药变异",
    "PLASMA_NEGATIVE_FOR_RESISTANCE": "血浆检测未发现耐药变异（已检出驱动基因，结果可参考）",
    "PLASMA_NON_INFORMATIVE": "血浆检测结果不具参考价值（未检出驱动基因）",
    "PLASMA_CNV_TO_CONFIRM": "血浆检测提示基因拷贝数扩增，需组织检测确认",
    "MRD_PERSISTENT_NEGATIVE": "微小残留病灶（MRD）持续阴性",
    "MRD_NOT_VALIDATED_FOR_DECISIONS": "微小残留病灶（MRD）结果尚未验证可用于治疗决策",
    "PS_DETERIORATION": "体能状态较前恶化",
    "PS_POOR": "体能状态差（ECOG评分≥3分）",
    "PS_REFERENCE_MISSING": "缺少既往体能状态评分，无法判断变化",
    "SYMPTOMATIC_DETERIORATION": "症状性恶化",
    "OLIGOPROGRESSION": "寡进展",
    "CNS_OLIGOPROGRESSION": "中枢神经系统寡进展",
    "LEPTOMENINGEAL_PROGRESSION": "软脑膜转移进展",
    "SYSTEMIC_PROGRESSION": "广泛进展",
    "TRANSFORMATION_SUSPECTED": "疑似组织学转化，建议再次活检",
    "BASELINE_OUTSIDE_WINDOW": "基线影像距治疗开始超过4周",
    "BASELINE_AFTER_START": "基线影像晚于治疗开始",
    "THERAPY_ON_HOLD": "治疗暂停中",
    "SWITCH_WITHOUT_PD": "非疾病进展原因换药",
    "UNMAPPED_MEDICATION": "无法识别的药物记录",
    "THERAPY_END_UNKNOWN": "治疗结束日期不详",
}
MECHANISMS_11_2 = {
    "EGFR-T790M": "EGFR T790M突变",
    "MET-AMP": "MET扩增",
    "MET-AMP-HIGH": "MET高水平扩增",
    "MET-AMP-PLASMA": "血浆MET拷贝数扩增（待组织确认）",
    "ERBB2-AMP": "ERBB2扩增",
    "SCLC-TRANSFORMATION": "小细胞肺癌转化",
    "SQUAMOUS-TRANSFORMATION": "鳞状细胞癌转化",
    "ALK-G1202R": "ALK G1202R突变",
    "ROS1-G2032R": "ROS1 G2032R突变",
}
TABLE_11_3 = {
    "continue-current-therapy": "继续当前治疗",
    "remeasure-or-repeat-imaging": "重新测量（同一阅片者、匹配序列），或4～8周后复查影像",
    "confirm-progression-imaging": "4～8周后复查影像以确认疾病进展（iRECIST）",
    "liquid-biopsy-ctdna": "血浆循环肿瘤DNA（ctDNA）基因检测",
    "tissue-rebiopsy": "再次组织活检（病理及分子检测）",
    "switch-therapy": "更换治疗方案为{药物}",
    "add-targeted-agent": "在{现有靶向药物}基础上联合{药物}",
    "local-ablative-therapy": "局部治疗（立体定向放疗/手术/消融）",
    "histology-directed-chemotherapy": "根据病理类型选择化疗：{药物}",
    "clinical-trial-referral": "推荐参加临床试验",
    "urgent-clinical-review": "尽快进行临床评估",
    "mdt-trial-consideration": "提交多学科会诊（MDT）或临床试验评估（非标准治疗）：{药物}",
    "clinical-review": "临床评估：能否耐受后续全身治疗",
}
TABLES = (
    TABLE_11_1
    | {f"assessment-flag.{k}": v for k, v in TABLE_11_2.items()}
    | {f"resistance-mechanism.{k}": v for k, v in MECHANISMS_11_2.items()}
    | {f"care-suggestion.{k}": v for k, v in TABLE_11_3.items()}
)


@pytest.mark.parametrize(("key", "wording"), sorted(TABLES.items()))
def test_Z7_codes_are_rendered_with_the_table_texts(key: str, wording: str) -> None:
    """Tables 11.1-11.3: categories, flags, mechanisms and suggestion codes in the specification's words."""
    assert zh(key) == wording


TABLE_11_4 = {
    "gefitinib": "吉非替尼",
    "erlotinib": "厄洛替尼",
    "icotinib": "埃克替尼",
    "afatinib": "阿法替尼",
    "dacomitinib": "达可替尼",
    "osimertinib": "奥希替尼",
    "aumolertinib": "阿美替尼",
    "furmonertinib": "伏美替尼",
    "befotertinib": "贝福替尼",
    "sunvozertinib": "舒沃替尼",
    "mobocertinib": "莫博赛替尼",
    "lazertinib": "拉泽替尼",
    "amivantamab": "埃万妥单抗",
    "savolitinib": "赛沃替尼",
    "tepotinib": "特泊替尼",
    "capmatinib": "卡马替尼",
    "crizotinib": "克唑替尼",
    "ceritinib": "塞瑞替尼",
    "alectinib": "阿来替尼",
    "ensartinib": "恩沙替尼",
    "brigatinib": "布格替尼",
    "lorlatinib": "洛拉替尼",
    "entrectinib": "恩曲替尼",
    "repotrectinib": "瑞普替尼",
    "taletrectinib": "他雷替尼",
    "selpercatinib": "塞尔帕替尼",
    "pralsetinib": "普拉替尼",
    "dabrafenib": "达拉非尼",
    "trametinib": "曲美替尼",
    "sotorasib": "索托拉西布",
    "adagrasib": "阿达格拉西布",
    "fulzerasib": "氟泽雷塞",
    "trastuzumab deruxtecan": "德曲妥珠单抗",
    "zongertinib": "宗格替尼",
    "pembrolizumab": "帕博利珠单抗",
    "nivolumab": "纳武利尤单抗",
    "atezolizumab": "阿替利珠单抗",
    "durvalumab": "度伐利尤单抗",
    "tislelizumab": "替雷利珠单抗",
    "pemetrexed": "培美曲塞",
    "carboplatin": "卡铂",
    "cisplatin": "顺铂",
    "etoposide": "依托泊苷",
    "paclitaxel": "紫杉醇",
    "nab-paclitaxel": "白蛋白结合型紫杉醇",
    "docetaxel": "多西他赛",
    "gemcitabine": "吉西他滨",
    "bevacizumab": "贝伐珠单抗",
    "ramucirumab": "雷莫西尤单抗",
}


@pytest.mark.parametrize(("inn", "name"), sorted(TABLE_11_4.items()))
def test_Z5_every_drug_of_table_11_4_has_its_chinese_name(inn: str, name: str) -> None:
    """drug.<INN>: the English INN and the Chinese generic name of table 11.4."""
    assert (KNOWLEDGE.texts.text(f"drug.{inn}", "en"), zh(f"drug.{inn}")) == (inn, name)


def test_Z5_lorlatinib_never_has_its_former_name() -> None:
    """洛拉替尼, never 劳拉替尼."""
    assert not [key for key, text in ZH_CN.items() if "劳拉替尼" in text]


def test_Z5_drug_names_agree_with_the_inbound_chinese_names() -> None:
    """Where drugs.yaml accepts a Chinese name inbound (R4), the output name is one of them."""
    texts = KNOWLEDGE.texts.texts
    disagree = [
        (d.name, texts[f"drug.{d.name}"].zh_cn)
        for d in KNOWLEDGE.drugs.drugs
        if f"drug.{d.name}" in texts
        and any(IDEOGRAPH.search(a) for a in d.aliases)
        and texts[f"drug.{d.name}"].zh_cn not in d.aliases
    ]
    assert disagree == []


def test_Z5_every_suggested_drug_has_a_chinese_name() -> None:
    """Every drug a resistance rule suggests can be written in Chinese."""
    suggested = {
        drug for rule in KNOWLEDGE.resistance.to_domain().rules for a in rule.actions for drug in a.drugs
    }
    assert sorted(d for d in suggested if f"drug.{d}" not in KNOWLEDGE.texts.texts) == []


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("evidence-label.randomised-phase-3", "随机对照III期研究"),
        ("evidence-label.single-arm-phase-2", "单臂II期研究"),
        ("evidence-label.retrospective", "回顾性研究"),
        ("evidence-label.case-report-preclinical", "病例报道/临床前研究"),
        ("jurisdiction.approved-china", "已在中国获批"),
        ("jurisdiction.not-approved-investigational", "在本地区尚未获批（研究性）"),
    ],
)
def test_Z6_evidence_and_jurisdiction_labels(key: str, label: str) -> None:
    """The evidence and jurisdiction labels of Z6."""
    assert zh(key) == label


def test_Z2_every_knowledge_base_text_is_translated_from_its_current_english() -> None:
    """Each resistance.yaml evidence and action note has a zh-CN text made from the English it now has."""
    texts = KNOWLEDGE.texts.texts
    wanted = {}
    for rule in KNOWLEDGE.resistance.to_domain().rules:
        wanted[f"resistance-evidence.{rule.rule.value}.{rule.mechanism}"] = rule.evidence
        for action in rule.actions:
            if action.note:
                wanted[f"resistance-note.{rule.rule.value}.{rule.mechanism}.{action.code.value}"] = (
                    action.note
                )
    stale = sorted(key for key, english in wanted.items() if key not in texts or texts[key].en != english)
    assert stale == []
