"""C2R partners named by public sources (ITU, Jan 2021; MIC Japan, 2023)."""

from assessment_api.partners.schemas import PartnerIn, PartnerKind

_ITU_2021 = "ITU, COVID-19 initiatives, partnerships and activities (Jan 2021)"
_MIC_2023 = "MIC Japan, Partnership with Connect2Recover initiative (2023)"
# Public sources mention a Steering Committee without listing its members; founding
# partners are assumed to sit on it until the membership is recorded through the API.
_STEERING_ASSUMED = "; steering committee membership assumed for founding partners"

PARTNERS: tuple[PartnerIn, ...] = (
    PartnerIn(
        name="Ministry of Internal Affairs and Communications (MIC), Japan",
        kind=PartnerKind.GOVERNMENT,
        country_iso3="JPN",
        founding=True,
        steering_committee=True,
        source=f"{_MIC_2023}{_STEERING_ASSUMED}",
    ),
    PartnerIn(
        name="King Salman Humanitarian Aid and Relief Centre (KSrelief)",
        kind=PartnerKind.ORGANISATION,
        country_iso3="SAU",
        founding=True,
        steering_committee=True,
        source=f"{_ITU_2021}{_STEERING_ASSUMED}",
    ),
    *(
        PartnerIn(name=name, kind=PartnerKind.GOVERNMENT, country_iso3=iso3, source=_ITU_2021)
        for name, iso3 in (
            ("Saudi Arabia", "SAU"),
            ("Australia", "AUS"),
            ("Lithuania", "LTU"),
            ("Czech Republic", "CZE"),
        )
    ),
)
