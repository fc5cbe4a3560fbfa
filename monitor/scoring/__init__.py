"""The model: shipped model directories, loading, batching and the torch / ONNX scorers."""
