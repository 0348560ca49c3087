def test_health_reports_database_and_postgis_versions(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"].startswith("PostgreSQL ")
    assert body["postgis"][0].isdigit()
    assert body["schema_revision"] is not None


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in (
        "/health",
        "/api/auth/token",
        "/api/districts",
        "/api/villages",
        "/api/communities",
    ):
        assert path in spec["paths"]


def test_unknown_path_gets_zh_tw_error(client):
    r = client.get("/api/no-such-thing")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "找不到" in r.json()["error"]["message"]
