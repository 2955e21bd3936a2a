"""Importers: SCALE-Sim topologies and configs, ONNX models."""
