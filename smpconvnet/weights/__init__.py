"""Weights: turning any model source into a model, and models into folders, files and Hub repos.

sources    a name or tag, ``hf-hub:``, ``local-dir:``, a folder or any checkpoint file -> a model (``load_model``)
folders    model folders (safetensors, config.json, model card), written atomically
convert    the authors' checkpoints -> model folders
deploy     the re-parameterised form, saved as a folder or exported to ONNX / TorchScript
push       uploading a model folder to the Hugging Face Hub
hub        manifests and hashes of model folders
catalog    which models there are, where their weights are, their size and cost
"""
from .sources import load_model, load_model_with_config, read_checkpoint
