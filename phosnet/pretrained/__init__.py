"""The bundled pretrained model(s) and their metadata."""
