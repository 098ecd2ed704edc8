# Checkpoint loading: config.json, generation_config.json, safetensors headers, sharded indexes, model_load
pure_fuzzer(model pure_model pure_tokenizer pure_util)
