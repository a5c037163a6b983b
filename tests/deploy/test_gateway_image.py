"""The gateway image (deploy/gateway/Dockerfile) carries the API docs where the container
config serves them from: its COPY instructions laid out in a folder as the image's file
system would be, and real nginx with the container config, rooted there, serves /docs,
/redoc, their assets and the merged /openapi.json — with nothing mounted but the config,
as compose and Kubernetes run it."""

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from container_gateway import nginx_root, serving

from c2r_common.api_docs import ASSET_FILES, ASSETS_PATH
from c2r_deploy.containers import DOCS_DIR, render_container_gateway
from c2r_deploy.openapi import gateway_openapi, write_docs
from c2r_deploy.routes import load_routes

DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "gateway" / "Dockerfile"


def copies() -> list[tuple[str, str]]:
    """The Dockerfile's COPY instructions: (source in the build context, destination)."""
    return re.findall(r"^COPY (\S+) (\S+)$", DOCKERFILE.read_text(), re.M)


def lay_out(context: Path, image: Path) -> None:
    """Does what the COPY instructions do, into `image` as the image's root."""
    for source, destination in copies():
        target = image / destination.lstrip("/")
        if source.endswith("/"):
            shutil.copytree(context / source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(context / source, target)
    for folder in [image, *image.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o755)


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    return gateway_openapi(load_routes())


@pytest.fixture
def gateway_image(document: dict[str, object]) -> Iterator[str]:
    with nginx_root("c2r-gateway-image-") as root:
        write_docs(root / "context" / "openapi.json", document)  # `make openapi`
        lay_out(root / "context", root / "image")
        config = render_container_gateway(load_routes())
        config = config.replace(DOCS_DIR, f"{root / 'image'}{DOCS_DIR}")
        with serving(config, root) as url:
            yield url


def test_the_image_puts_every_docs_file_under_the_configs_docs_folder() -> None:
    destinations = [destination for _, destination in copies()]
    assert destinations == [f"{DOCS_DIR}/openapi.json", f"{DOCS_DIR}/docs-assets/"]
    assert f"alias {DOCS_DIR}/" in render_container_gateway(load_routes())


def test_the_gateway_image_serves_the_docs_pages_their_assets_and_the_merged_document(
    gateway_image: str, document: dict[str, object]
) -> None:
    with httpx.Client(base_url=gateway_image, timeout=10) as client:
        served = client.get("/openapi.json")
        assert served.status_code == 200
        assert json.loads(served.content) == document
        for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = client.get(page)
            assert html.status_code == 200
            assert f"{ASSETS_PATH}/{asset}" in html.text
        for asset in ASSET_FILES:
            response = client.get(f"{ASSETS_PATH}/{asset}")
            assert response.status_code == 200, asset
            assert len(response.content) > 1000, asset
