"""What iRECIST evaluation returns (I1): the categories and one result per time point."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

import msgspec

from service.domain.response import TimePointResponse
from service.domain.rules import Flag, Rule


class IrecistResponse(StrEnum):
    """I1; values are ``CANON/CodeSystem/response-category`` codes (the non-iCR/non-iUPD code is not yet in
    FHIR-CONTRACT.md section 4, which lists only the other ten)."""

    ICR = "iCR"
    IPR = "iPR"
    ISD = "iSD"
    IUPD = "iUPD"
    ICPD = "iCPD"
    NE = "NE"
    NON_ICR_NON_IUPD = "NON-iCR-NON-iUPD"


class IrecistTimePoint(msgspec.Struct, frozen=True, gc=False):
    """One iRECIST time point with the RECIST result it was built on.

    While an iUPD is followed, ``iupd_date`` is its date and ``confirmation_window`` the 4-8 weeks after it
    (I3); ``target_increase_mm`` is the target sum now minus at iUPD (I4), ``new_lesion_target_sum_mm`` the
    separate sum of the new-lesion targets (I5), ``additional_new_lesions`` the new lesions not seen before.
    """

    date: dt.date
    category: IrecistResponse
    recist: TimePointResponse
    iupd_date: dt.date | None
    confirmation_window: tuple[dt.date, dt.date] | None
    target_increase_mm: Decimal | None
    new_lesion_target_sum_mm: Decimal | None
    additional_new_lesions: tuple[str, ...]
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...]
