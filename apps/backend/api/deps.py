"""Request dependencies: the runtime, and the admin-key guard (declared in the OpenAPI document as the
`AdminKey` security scheme, so Swagger UI's "Authorize" sends it)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from apps.backend.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime  # set by the lifespan; Starlette's app.state is untyped
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


admin_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="AdminKey",
    description="The admin key (setting ADMIN_API_KEY).",
    auto_error=False,  # require_admin answers a missing key itself (401, or 503 when admin is disabled)
)


def require_admin(
    runtime: RuntimeDep, x_api_key: Annotated[str | None, Security(admin_key_header)] = None
) -> None:
    expected = runtime.settings.admin_api_key
    if expected is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "admin API is disabled: set ADMIN_API_KEY")
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), expected.get_secret_value().encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong x-api-key")


AdminDep = Depends(require_admin)
