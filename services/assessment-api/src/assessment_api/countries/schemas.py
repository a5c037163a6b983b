from pydantic import BaseModel, ConfigDict, Field

from c2r_common.reference import ItuRegion


class CountryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "iso3": "RWA",
                    "iso2": "RW",
                    "m49": 646,
                    "name": "Rwanda",
                    "itu_region": "Africa",
                    "m49_region": "Africa",
                    "m49_subregion": "Sub-Saharan Africa",
                    "ldc": True,
                    "lldc": True,
                    "sids": False,
                    "c2r_beneficiary": True,
                }
            ]
        },
    )

    iso3: str = Field(description="ISO 3166-1 alpha-3")
    iso2: str | None = Field(description="ISO 3166-1 alpha-2")
    m49: int = Field(description="UN M49 numeric code")
    name: str
    itu_region: ItuRegion
    m49_region: str
    m49_subregion: str
    ldc: bool = Field(description="Least Developed Country")
    lldc: bool = Field(description="Land-Locked Developing Country")
    sids: bool = Field(description="Small Island Developing State")
    c2r_beneficiary: bool = Field(False, description="on the Connect2Recover beneficiary list")


class CountryFilters(BaseModel):
    itu_region: ItuRegion | None = None
    ldc: bool | None = None
    lldc: bool | None = None
    sids: bool | None = None
    c2r_beneficiary: bool | None = None
