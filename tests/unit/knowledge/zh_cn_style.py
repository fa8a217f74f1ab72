"""The checkable part of CLINICAL-RULES.md section 11 (Z8), shared by the texts test and the output test:
(a) Z1 punctuation and spacing next to CJK, (b) Z2 Latin tokens against the allow-list, (c) Z4 fixed phrases
where their concept appears, plus the Z3 number and date forms. Each check returns the problems it found."""

# ruff: noqa: RUF001  # the Z4 phrases hold full-width parentheses by design (Z1)

from __future__ import annotations

import re

CJK = "\u4e00-\u9fff\u3000-\u303f\uff00-\uffef"  # ideographs, CJK and full-width punctuation
IDEOGRAPH = re.compile("[\u4e00-\u9fff]")

# Z2 allow-list. Genes: HGNC symbols (with fusion partners, FISH probes and the pathway names the
# resistance texts use); trials named in CLINICAL-RULES.md sections 5, 6 and 9; the abbreviations of Z2.
GENES = frozenset(
    [
        "EGFR",
        "ALK",
        "ROS1",
        "MET",
        "ERBB2",
        "KRAS",
        "NRAS",
        "HRAS",
        "BRAF",
        "PIK3CA",
        "RET",
        "NTRK1",
        "NTRK2",
        "NTRK3",
        "TP53",
        "RB1",
        "FGFR1",
        "FGFR2",
        "FGFR3",
        "EML4",
        "CD74",
        "KIF5B",
        "CCDC6",
        "NCOA4",
        "STK11",
        "KEAP1",
        "PTEN",
        "CDKN2A",
        "MYC",
        "NF1",
        "MAP2K1",
        "AKT1",
        "CEP7",
        "CEP17",
        "MAPK",
        "RAS",
        "PI3K",
    ]
)
TRIALS = frozenset(
    [
        "AURA3",
        "FLAURA",
        "FLAURA2",
        "MARIPOSA",
        "MARIPOSA-2",
        "SACHI",
        "SAVANNAH",
        "TRIDENT-1",
        "TRUST-I",
        "TRUST-II",
        "CROWN",
        "PAPILLON",
        "DESTINY-Lung02",
        "CURB",
        "TATTON",
        "INSIGHT",
        "ASCEND-5",
        "ALUR",
        "KEYNOTE-189",
    ]
)
CRITERIA = frozenset({"RECIST", "iRECIST"})
RESPONSES = frozenset(["CR", "PR", "SD", "PD", "NE", "iCR", "iPR", "iSD", "iUPD", "iCPD"])
ABBREVIATIONS = frozenset(
    [
        "CEA",
        "NSE",
        "ProGRP",
        "ctDNA",
        "DNA",
        "MRD",
        "NGS",
        "FISH",
        "IHC",
        "ECOG",
        "MDT",
        "CT",
        "MRI",
        "PET-CT",
    ]
)
UNITS = frozenset({"mm", "ng/mL", "mL", "cm"})
ALLOWED = GENES | TRIALS | CRITERIA | RESPONSES | ABBREVIATIONS | UNITS
ALLOWED_PATTERNS = (
    re.compile(
        r"[A-Z]\d+(?:[A-Z*]|del|ins|dup|fs)?(?:/[A-Z])*"
    ),  # variants: T790M, L718Q/V, H95; rule IDs X1
    re.compile(r"[pc]\.\S+"),  # HGVS
    re.compile(r"(?:" + "|".join(sorted(GENES)) + r")-TKI"),  # EGFR-TKI, ALK-TKI, MET-TKI
    re.compile(r"(?:I|II|III|IV|X)(?:-[AB])?(?:/(?:I|II|III|IV|X)(?:-[AB])?)*|Ib"),  # ESCAT tiers, phases
    re.compile(r"\d[\d.]*"),
)
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.*+/:_-]*")
_PLACEHOLDER = re.compile(r"\{[A-Za-z_]+\}")


def punctuation_problems(text: str) -> list[str]:
    """Z1: no half-width , . ; : ( ) next to a CJK character; no space between CJK and Latin or digits."""
    half = re.findall(rf"[{CJK}][,.;:()]|[,.;:()][{CJK}]", text)
    spaced = re.findall(rf"[{CJK}] +[A-Za-z0-9]|[A-Za-z0-9] +[{CJK}]", text)
    return [f"half-width {m!r}" for m in half] + [f"space {m!r}" for m in spaced]


def latin_problems(text: str) -> list[str]:
    """Z2: every Latin token is on the allow-list (a ``{name}`` template placeholder is not text)."""
    tokens = _LATIN.findall(_PLACEHOLDER.sub("", text))
    return [f"Latin {t!r}" for t in tokens if re.search("[A-Za-z]", t) and not _allowed(t.strip(".:+-"))]


def _allowed(token: str) -> bool:
    if token in ALLOWED or any(p.fullmatch(token) for p in ALLOWED_PATTERNS):
        return True
    parts = re.split(r"::|/", token)  # gene lists and fusions: ALK/EGFR, EML4::ALK, MET/CEP7
    return len(parts) > 1 and all(_allowed(part) for part in parts if part)


LOCAL_THERAPY = "局部治疗（立体定向放疗/手术/消融）"
PLASMA_NON_INFORMATIVE = "血浆检测结果不具参考价值（未检出驱动基因）"


def phrase_problems(text: str) -> list[str]:
    """Z4: the fixed phrases, verbatim, wherever their concept appears."""
    problems = []
    if ("消融" in text and LOCAL_THERAPY not in text) or "局部消融治疗" in text:
        problems.append("local ablative therapy is not " + LOCAL_THERAPY)
    if ("不具参考价值" in text or "无信息" in text) and PLASMA_NON_INFORMATIVE not in text:
        problems.append("non-informative plasma is not " + PLASMA_NON_INFORMATIVE)
    if re.search("(?:顺式|反式)(?!构型)|顺反", text):
        problems.append("cis/trans without 构型")
    if "未确认" in text or "非标准疗法" in text or "不是标准治疗" in text:
        problems.append("unconfirmed / not standard of care not in the Z4 words")
    return problems


def number_problems(text: str) -> list[str]:
    """Z3: no ISO date, no hyphen-minus before a number, no space before %."""
    problems = [f"ISO date {m}" for m in re.findall(r"\d{4}-\d{2}-\d{2}", text)]
    problems += [f"minus {m!r}" for m in re.findall(r"(?<![A-Za-z0-9])-\d[\d.]*%?", text)]
    return problems + [f"percent {m!r}" for m in re.findall(r"\d %", text)]


def zh_cn_problems(text: str) -> list[str]:
    """Every Z8 check of one zh-CN text."""
    return punctuation_problems(text) + latin_problems(text) + phrase_problems(text) + number_problems(text)
