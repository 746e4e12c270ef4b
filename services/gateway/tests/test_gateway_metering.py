"""Meter work through the gateway on the real metering service: a staff read with reader and
reason, a CSV import reporting rejected rows by line, the exceptions worklist."""

from gateway_client import post

BEACON = ("Endpoint_SN,Endpoint_Type,Encoder_Value,Read_Time,Read_Interval\n"
          "130411962,ORION_CELLULAR,1234.10,2026-01-15 00:00:00,60\n"
          "130411962,ORION_CELLULAR,not-a-number,2026-01-15 01:00:00,60\n")


def test_staff_reads_imports_and_the_worklist_through_the_gateway(gateway):
    base, http = gateway("metering")
    assert post(http, base, "/api/meters", {"serial": "GW-0001", "size": "5/8"}).status_code == 201
    assert post(http, base, "/api/meters/GW-0001/installation", {"connection_id": "SC-GW", "installed_on": "2026-01-01",
                                                           "initial_read": "100"}).status_code == 201
    assert http.patch(base + "/api/meters/GW-0001", json={"ami_endpoint_id": "130411962"},
                      timeout=20).status_code == 200

    no_reason = post(http, base, "/api/meters/GW-0001/reads", {"read_at": "2026-01-31T10:00:00-08:00", "value": "110",
                                                         "source": "handheld", "reader": "rvaldez"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]
    manual = post(http, base, "/api/meters/GW-0001/reads", {"read_at": "2026-01-31T10:00:00-08:00", "value": "110",
                                                      "source": "handheld", "reader": "rvaldez",
                                                      "reason": "endpoint silent"})
    assert manual.status_code == 201, manual.text

    imported = post(http, base, "/api/read-files", {"file_format": "beacon", "file_name": "b.csv", "content": BEACON})
    assert imported.status_code == 201, imported.text
    assert [row["line"] for row in imported.json()["rejected"]] == [3]

    worklist = http.get(base + "/api/read-exceptions", params={"status": "unresolved", "limit": "10"}, timeout=20)
    assert worklist.status_code == 200, worklist.text
