# tokenizer.json loading and encoding
pure_fuzzer(tokenizer pure_tokenizer pure_util)
