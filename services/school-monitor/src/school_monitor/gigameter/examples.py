"""A Giga Meter measurement as the released agent builds it (v1.0.10's upload.service.ts,
makeMeasurement and uploadMeasurement, over an ndt7 result), about 1.8 KB of JSON: the
example of the documentation, and the payload the tests and the benchmark send."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def _ndt7_direction(mbps: float, min_rtt_us: int, bytes_moved: int, test_id: str) -> dict[str, Any]:
    return {
        "LastClientMeasurement": {
            "ElapsedTime": 10.0,
            "NumBytes": bytes_moved,
            "MeanClientMbps": mbps,
        },
        "LastServerMeasurement": {
            "ConnectionInfo": {
                "Client": "197.243.0.1:51234",
                "Server": "196.49.14.10:443",
                "UUID": test_id,
            },
            "BBRInfo": {
                "BW": int(mbps * 125_000),
                "MinRTT": min_rtt_us,
                "ElapsedTime": 10_000_000,
            },
            "TCPInfo": {
                "State": 1,
                "RTT": min_rtt_us + 2500,
                "RTTVar": 1800,
                "SndCwnd": 120,
                "BytesAcked": bytes_moved,
                "BytesReceived": bytes_moved // 40,
                "SegsOut": bytes_moved // 1448,
                "MinRTT": min_rtt_us,
                "ElapsedTime": 10_020_000,
            },
        },
    }


def agent_measurement(
    giga_id: str,
    *,
    school_id: str = "RW-100234",
    country_code: str = "RW",
    measured_at: datetime | None = None,
    test_id: str | None = None,
    app_version: str = "1.0.10",
) -> dict[str, Any]:
    """The JSON object the agent posts to /api/v1/measurements."""
    when = measured_at or datetime.now(UTC) - timedelta(minutes=2)
    test_id = str(uuid.uuid4()) if test_id is None else test_id
    download = _ndt7_direction(23.4567, 41_000, 30_512_344, test_id)
    upload = _ndt7_direction(8.1234, 43_000, 10_244_352, test_id)
    return {
        "UUID": test_id,
        "Download": 23.4567 * 1000,
        "Upload": 8.1234 * 1000,
        # (BBR MinRTT of both directions) / 2 / 1000, with toFixed(0): a string.
        "Latency": "42",
        "Results": {"NDTResult.S2C": download, "NDTResult.C2S": upload},
        "Annotation": "",
        "ServerInfo": {
            "FQDN": "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org",
            "IPv4": "196.49.14.10",
            "IPv6": "2001:43f8:1f0::10",
            "City": "Nairobi",
            "Country": "KE",
            "Metro": "nbo",
            "Site": "nbo01",
            "URL": "wss://ndt-mlab1-nbo01.mlab-oti.measurement-lab.org/ndt/v7/download",
        },
        "ClientInfo": {
            "Country": country_code,
            "Hostname": "",
            "Latitude": -1.9441,
            "Longitude": 30.0619,
            "ISP": "AS36924 MTN RWANDACELL",
            "Postal": "",
            "Region": "Kigali",
            "Timezone": "Africa/Kigali",
            "IP": "197.243.0.1",
            "ASN": "AS36924",
            "City": "Kigali",
        },
        "BrowserID": str(uuid.uuid4()),
        "Timestamp": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "timestamplocal": when.strftime("%m/%d/%Y, %I:%M:%S %p"),
        "DeviceType": "windows",
        "Notes": "",
        "school_id": school_id,
        "ip_address": "197.243.0.1",
        "country_code": country_code,
        "giga_id_school": giga_id,
        "app_version": app_version,
    }


def agent_ping_record(giga_id: str, browser_id: str, checked_at: datetime) -> dict[str, Any]:
    """One record of the agent's ping service as its sync service posts it."""
    return {
        "timestamp": checked_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "isConnected": True,
        "errorMessage": None,
        "giga_id_school": giga_id,
        "app_local_uuid": str(uuid.uuid4()),
        "browserId": browser_id,
        "latency": 38.5,
    }
