from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.fields import NoNulStr, StrictBool
from c2r_common.reference import ItuRegion


class BeneficiaryIn(BaseModel):
    source: NoNulStr = Field(min_length=1, max_length=300, examples=["ITU C2R country assessment"])
    illustrative: StrictBool = Field(False, description="true when no public source names it")
    note: NoNulStr | None = Field(None, max_length=2000)


class BeneficiaryOut(BeneficiaryIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source": ("ITU C2R beneficiary list, 2023"),
                    "illustrative": False,
                    "note": None,
                    "country_iso3": "RWA",
                    "country_name": "Rwanda",
                    "itu_region": "Africa",
                    "updated_by": "analyst@itu.int",
                    "updated_at": "2026-12-02T08:07:49.320632Z",
                }
            ]
        }
    )

    country_iso3: str
    country_name: str
    itu_region: ItuRegion
    updated_by: str
    updated_at: datetime
