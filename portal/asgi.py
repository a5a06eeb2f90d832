"""ASGI entry point for uvicorn: settings from the environment."""

from portal.app import create_app
from portal.core.settings import load_settings

app = create_app(load_settings())
