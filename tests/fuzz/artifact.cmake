# HDF5 artifacts: the reader, artifact_verify and pure inspect's loading
pure_fuzzer(artifact pure_storage pure_util)
