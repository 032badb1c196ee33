"""A small client for Superset's REST API: JWT login, CSRF token in the same cookie session."""

from __future__ import annotations

import httpx


class SupersetAPIError(RuntimeError):
    def __init__(self, method: str, path: str, response: httpx.Response):
        self.status_code = response.status_code
        body = response.text[:600]
        super().__init__(f"Superset {method} {path} answered {response.status_code}: {body}")


class SupersetClient:
    def __init__(self, url: str, username: str, password: str, timeout: float = 60):
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)
        r = self.http.post(
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": True},
        )
        if r.status_code != 200:
            raise SupersetAPIError("POST", "/api/v1/security/login", r)
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        csrf = self.http.get("/api/v1/security/csrf_token/")
        if csrf.status_code != 200:
            raise SupersetAPIError("GET", "/api/v1/security/csrf_token/", csrf)
        self.http.headers["X-CSRFToken"] = csrf.json()["result"]
        self.http.headers["Referer"] = self.url

    def request(self, method: str, path: str, ok=(200, 201), **kwargs) -> httpx.Response:
        r = self.http.request(method, path, **kwargs)
        if r.status_code not in ok:
            raise SupersetAPIError(method, path, r)
        return r

    def get(self, path: str, **kwargs) -> dict:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, **kwargs) -> dict:
        return self.request("POST", path, **kwargs).json()

    def put(self, path: str, **kwargs) -> dict:
        return self.request("PUT", path, **kwargs).json()

    def delete(self, path: str, **kwargs) -> None:
        self.request("DELETE", path, ok=(200, 204), **kwargs)

    def list_all(self, resource: str, columns: list[str] | None = None) -> list[dict]:
        """Every row of a list endpoint (rison query, paged)."""
        rows: list[dict] = []
        page = 0
        cols = f",columns:!({','.join(columns)})" if columns else ""
        while True:
            data = self.get(f"/api/v1/{resource}/?q=(page:{page},page_size:100{cols})")
            rows.extend(data["result"])
            if len(rows) >= data.get("count", 0) or not data["result"]:
                return rows
            page += 1

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
