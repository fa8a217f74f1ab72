"""Pure clinical logic: standard library and its own types only (HOUSE-STYLE rule 1)."""
