# verifier/ (extraction, normalization, equivalence) and the `pure grade` line reader
pure_fuzzer(grade pure_verifier pure_util)
