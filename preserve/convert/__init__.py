"""Readers of foreign weight formats, kept apart from what the networks are for.

``protobuf`` reads the protobuf wire format; ``tf_graph`` runs a frozen
TensorFlow GraphDef as a torch module (FaceNet); ``onnx_chain`` converts a
chain-shaped ONNX graph into ``nn.Sequential`` (SFace); ``t7`` reads Torch7
serialisations (OpenFace). None of them imports TensorFlow, onnx or Lua
Torch: the pinned files are read directly and converted once into the cache.
"""
