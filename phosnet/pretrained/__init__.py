"""The bundled model files (package data); the logic lives in :mod:`phosnet.bundle`, re-exported here."""

from phosnet.bundle import DEFAULT_MODEL, PRETRAINED_DIR, PhosnetModel, available_models, load_model

__all__ = ["DEFAULT_MODEL", "PRETRAINED_DIR", "PhosnetModel", "available_models", "load_model"]
