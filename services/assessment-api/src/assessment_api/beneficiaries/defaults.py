"""The C2R beneficiary list seeded by default: 43 countries, as the initiative announced.

Public sources name only some of them; the others are an illustrative placeholder (least
developed, land-locked and small island developing countries across the ITU-D regions),
flagged `illustrative` so they can be replaced through the API with the official list.
"""

_ITU_2021 = "ITU, COVID-19 initiatives, partnerships and activities (Jan 2021)"
SOURCED: dict[str, str] = {
    "MRT": f"{_ITU_2021}: assessment completed",
    "ZWE": f"{_ITU_2021}: assessment underway",
    "RWA": f"{_ITU_2021}: Giga school connectivity pilot",
}

ILLUSTRATIVE: tuple[str, ...] = (
    # Africa
    "BDI", "BEN", "BFA", "CAF", "TCD", "COD", "ETH", "GMB", "GIN", "LSO", "MWI", "MLI",
    "MOZ", "NER", "SSD", "UGA", "ZMB",
    # Americas
    "HTI", "BOL", "PRY", "HND",
    # Arab States
    "SDN", "YEM", "SOM", "DJI", "COM",
    # CIS
    "KGZ", "TJK",
    # Europe
    "MDA", "ALB", "BIH",
    # Asia & Pacific
    "AFG", "NPL", "BTN", "KHM", "LAO", "TLS", "VUT", "KIR", "SLB",
)  # fmt: skip

ILLUSTRATIVE_SOURCE = "illustrative placeholder: replace with the official C2R beneficiary list"
BENEFICIARY_COUNT = 43
