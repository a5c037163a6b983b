"""Swagger UI and ReDoc pages whose assets come from the server that serves them.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank offline or
behind a firewall. The assets here are those the fastapi-offline package ships, served
under ASSETS_PATH by every service, by the embedded gateway and (copied next to the
merged document) by nginx; the pages name nothing outside their origin.
"""

import shutil
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/static"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def swagger_ui_page(title: str, openapi_url: str = "/openapi.json", root: str = "") -> str:
    page = get_swagger_ui_html(
        openapi_url=f"{root}{openapi_url}",
        title=title,
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
    )
    return bytes(page.body).decode()


def redoc_page(title: str, openapi_url: str = "/openapi.json", root: str = "") -> str:
    page = get_redoc_html(
        openapi_url=f"{root}{openapi_url}",
        title=title,
        redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
    return bytes(page.body).decode()


def copy_assets(target: Path) -> None:
    """The assets into `target`, for a server (nginx) that serves them from files."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ASSET_FILES:
        shutil.copyfile(ASSETS_DIR / name, target / name)
        (target / name).chmod(0o644)


def install_docs(app: FastAPI) -> None:
    """/docs and /redoc on the app's own document, with the assets under ASSETS_PATH."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(swagger_ui_page(f"{app.title} - Swagger UI", root=root))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(redoc_page(f"{app.title} - ReDoc", root=root))
