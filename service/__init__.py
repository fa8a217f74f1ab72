"""oncoresponse: FHIR tumour response and targeted-therapy resistance assessment."""

from importlib.metadata import version

__version__ = version("oncoresponse")
