# credit assignment: `pure credit`'s JSON reader with credit_compute(), and Lua credit rules in the sandbox
pure_fuzzer(credit pure_stage_credit pure_lua pure_util)
