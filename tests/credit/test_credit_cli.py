"""test_credit_cli.py - `pure credit` (the credit_cli test binary) as a user meets it:
the issue's example, exit codes (0 ok, 1 the Lua rule failed, 2 bad flags or input)
and error messages that name the response and the field; issue 12's hostile rules
and inputs (each once crashed, hung or printed a bare inf).
usage: test_credit_cli.py CREDIT_CLI SOURCE_DIR"""
import json
import os
import subprocess
import sys
import tempfile

cli, src = sys.argv[1], sys.argv[2]
failures = 0

EXAMPLE = {"responses": [
    {"group": 0, "length": 12, "eos": True, "step_ends": [3, 7, 11], "step_rewards": [0.9, -0.2, 0.5],
     "verifiable": 1.0},
    {"group": 0, "length": 4, "eos": False, "step_ends": [3], "step_rewards": [0.25], "verifiable": None},
    {"group": 0, "length": 2, "step_ends": [], "step_rewards": []}]}


def run(args, data):
    text = data if isinstance(data, str) else json.dumps(data)
    return subprocess.run([cli] + args, input=text, capture_output=True, text=True)


def expect(name, cond, detail=""):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL {name} {detail}")
    else:
        print(f"ok   {name}")


def near(a, b, tol=1e-6):
    return len(a) == len(b) and all(abs(x - y) <= tol * max(1, abs(y)) for x, y in zip(a, b))


# sum, baseline none: suffix sums of [0.9, -0.2, 0.5 + 1] on tokens 3, 7, 11
p = run(["--rule", "sum", "--baseline", "none"], EXAMPLE)
expect("example exit 0", p.returncode == 0, p.stderr)
out = json.loads(p.stdout)
r = out["responses"]
expect("example sum returns", near(r[0]["returns"], [2.2] * 4 + [1.3] * 4 + [1.5] * 4), r[0]["returns"])
expect("null verifiable ignored", near(r[1]["returns"], [0.25] * 4), r[1]["returns"])
expect("zero steps, no verifiable", near(r[2]["returns"], [0, 0]), r[2]["returns"])
m = out["metrics"]
expect("metrics", abs(m["zero_step_fraction"] - 1 / 3) < 1e-6 and abs(m["truncated_fraction"] - 1 / 3) < 1e-6
       and abs(m["steps_per_response"] - 4 / 3) < 1e-6 and m["tokens"] == 18, m)
# rloo: first returns 2.2, 0.25, 0 -> baselines 0.125, 1.1, 1.225
p = run(["--rule", "sum", "--baseline", "rloo"], EXAMPLE)
a = json.loads(p.stdout)["responses"]
expect("rloo advantages", near(a[0]["advantages"][:1], [2.075]) and near(a[1]["advantages"][:1], [-0.85])
       and near(a[2]["advantages"], [-1.225, -1.225]), a)
# min-exact with prm and vr coefficients
p = run(["--rule", "min-exact", "--baseline", "none", "--prm-coef", "2", "--vr-coef", "0.5"], EXAMPLE)
expect("min-exact coefficients", near(json.loads(p.stdout)["responses"][0]["returns"], [0.1] * 8 + [1.5] * 4),
       p.stdout[:200])
# kl given per token: -beta * kl folded in
d = {"responses": [{"group": 0, "length": 3, "step_ends": [2], "step_rewards": [1.0], "kl": [1, 2, 3]}]}
p = run(["--rule", "sum", "--baseline", "none", "--kl-coef", "0.1"], d)
expect("kl folded", near(json.loads(p.stdout)["responses"][0]["returns"], [0.4, 0.5, 0.7]), p.stdout)
# a Lua rule through a file
p = run(["--rule", os.path.join(src, "lua/rules/first_error.lua"), "--baseline", "none"], EXAMPLE)
expect("first_error.lua", p.returncode == 0 and near(json.loads(p.stdout)["responses"][0]["returns"],
                                                     [0.8] * 8 + [1.0] * 4), p.stdout[:300] + p.stderr)
p = run(["--help"], "")
expect("--help", p.returncode == 0)
# --help lists every rule and baseline with its doc (from the tables)
expect("--help lists rules", "rules (--rule):" in p.stdout and "\n  min-exact " in p.stdout
       and "\n  FILE.lua " in p.stdout and "\n  rloo-token " in p.stdout, p.stdout)


def expect_error(name, args, data, code, text):
    p = run(args, data)
    expect(name, p.returncode == code and text in p.stderr, f"exit {p.returncode}: {p.stderr!r}")


base = ["--baseline", "none"]
expect_error("unknown flag", ["--bogus"], EXAMPLE, 2, "unknown flag '--bogus'")
expect_error("bad number", ["--temperature", "abc"], EXAMPLE, 2, "--temperature expects a number")
expect_error("missing value", ["--gamma"], EXAMPLE, 2, "--gamma expects a number")
expect_error("gamma range", ["--gamma", "2"], EXAMPLE, 2, "--gamma expects a number in [0, 1], got '2'")
# the lists come from the tables (a new rule adds its name): the built-ins by name, then FILE.lua for rule lua
expect_error("bad rule", ["--rule", "max"], EXAMPLE, 2, "--rule expects min|min-exact|sum|")
expect_error("bad rule lists FILE.lua", ["--rule", "max"], EXAMPLE, 2, "|FILE.lua, got 'max'")
expect_error("rule lua needs FILE.lua", ["--rule", "lua"], EXAMPLE, 2, "|FILE.lua, got 'lua'")
expect_error("missing rule", ["--rule"], EXAMPLE, 2, "--rule expects min|min-exact|sum|")
expect_error("bad baseline", ["--baseline", "ppo"], EXAMPLE, 2, "--baseline expects rloo-token|rloo|grpo|none")
expect_error("invalid json", base, '{"responses": [', 2, "stdin:1:")
expect_error("no responses", base, {"x": 1}, 2, 'expected an object with a "responses" array')
expect_error("empty batch", base, {"responses": []}, 2, "empty batch")
expect_error("missing length", base, {"responses": [{"group": 0}]}, 2, "response 0: missing field 'length'")
expect_error("bad length", base, {"responses": [{"group": 0, "length": 2.5}]}, 2,
             "response 0: field 'length' must be an integer >= 0")
expect_error("rewards count", base, {"responses": [EXAMPLE["responses"][0],
                                                   {"group": 0, "length": 5, "step_ends": [1, 4],
                                                    "step_rewards": [0.1]}]}, 2,
             "response 1: 1 step_rewards for 2 step_ends")
expect_error("reward not a number", base, {"responses": [{"group": 0, "length": 5, "step_ends": [4],
                                                          "step_rewards": [None]}]}, 2,
             "response 0: step_rewards[0] must be a number")
expect_error("kl length", base, {"responses": [{"group": 0, "length": 3, "kl": [0.1]}]}, 2,
             "response 0: kl has 1 values, expected one per token (length 3)")
expect_error("infinite reward", base, '{"responses": [{"group": 0, "length": 5, "step_ends": [1, 4], '
                                      '"step_rewards": [0.5, 1e999]}]}', 2,
             "response 0 step 1: step reward is infinite")
expect_error("step end beyond length", base, {"responses": [{"group": 0, "length": 5, "step_ends": [5],
                                                             "step_rewards": [1]}]}, 2,
             "response 0 step 0: step end 5 is outside the response (length 5)")
expect_error("step ends not ascending", base, {"responses": [{"group": 0, "length": 5, "step_ends": [3, 2],
                                                              "step_rewards": [1, 1]}]}, 2,
             "response 0 step 1: step end 2 is not after the previous step end 3")
expect_error("group of one", [], {"responses": [EXAMPLE["responses"][0]]}, 2,
             "group 0 has one response (response 0); baseline rloo-token needs at least 2")
expect_error("bad verifiable", base, {"responses": [{"group": 0, "length": 2, "verifiable": "yes"}]}, 2,
             "response 0: field 'verifiable' must be a number or null")

with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "bad.lua")
    with open(bad, "w") as f:
        f.write("function credit(rs, p)\n  local x = nil\n  return x.y\nend\n")
    expect_error("lua runtime error", ["--rule", bad] + base, EXAMPLE, 1,
                 f"{bad}:3: attempt to index a nil value (local 'x') (group 0)")
    loop = os.path.join(tmp, "loop.lua")
    with open(loop, "w") as f:
        f.write("function credit(rs, p)\n  while true do end\nend\n")
    expect_error("lua budget", ["--rule", loop, "--lua-max-instructions", "100000"] + base, EXAMPLE, 1,
                 "instruction budget of 100000 per call exceeded")
    mem = os.path.join(tmp, "mem.lua")
    with open(mem, "w") as f:
        f.write("function credit(rs, p)\n  local t = {}\n  for i = 1, 1e9 do t[i] = i end\nend\n")
    expect_error("lua memory", ["--rule", mem, "--lua-max-memory-mb", "2"] + base, EXAMPLE, 1,
                 "memory limit of 2.0 MB exceeded")
    expect_error("lua missing file", ["--rule", os.path.join(tmp, "none.lua")] + base, EXAMPLE, 2,
                 "--rule: no such Lua file")
    syn = os.path.join(tmp, "syntax.lua")
    with open(syn, "w") as f:
        f.write("function credit(rs, p)\n  return {\nend\n")
    expect_error("lua syntax error", ["--rule", syn] + base, EXAMPLE, 1, f"{syn}:3:")

# ---- issue 12: hostile rules and inputs end with a message and an exit code, never an abort, a hang or a bare inf


def expect_no_crash(name, args, data, code, text, timeout=60):
    try:
        p = subprocess.run([cli] + args, input=data if isinstance(data, str) else json.dumps(data),
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        expect(name, False, f"still running after {timeout} s")
        return
    expect(name, p.returncode == code and text in p.stderr and p.stderr.startswith("pure credit: "),
           f"exit {p.returncode}: {p.stderr!r}")


def script(tmp, name, code):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(code)
    return path


with tempfile.TemporaryDirectory() as tmp:
    b = ["--lua-max-instructions", "1000000"] + base
    hostile = [
        # (a) a result entry whose __index raises while the C side reads it (was: SIGABRT, exit 134)
        ("entry __index raises", "meta.lua",
         "function credit(rs, p)\n  local o = {}\n  for k = 1, #rs do\n"
         "    o[k] = setmetatable({}, {__index = function() error('boom') end})\n  end\n  return o\nend\n",
         "meta.lua:4: boom (credit() result[1] for response 0, group 0)"),
        # (b) the globals' __index raises, no credit() (was: SIGABRT)
        ("_G __index raises", "g.lua", "setmetatable(_G, {__index = function() error('nope') end})\n",
         "g.lua: the script defines no function 'credit'"),
        # (c) the top level fills the memory cap through pcall (was: SIGABRT in push_response)
        ("top level fills memory", "fill.lua",
         "keep = {}\npcall(function() local i = 0 while true do i = i + 1 keep[i] = {i} end end)\n"
         "function credit(rs, p) return {} end\n", "memory limit of 2.0 MB exceeded (raise the memory limit) (group 0)"),
        # the budget swallowed by pcall / xpcall (was: runs forever)
        ("pcall loop", "pcall.lua", "while true do pcall(function() while true do end end) end\n",
         "pcall.lua:1: instruction budget of 1000000 per call exceeded"),
        ("xpcall loop", "xpcall.lua",
         "function credit(rs, p)\n  while true do xpcall(function() while true do end end, function(m) return m end) "
         "end\nend\n", "xpcall.lua:2: instruction budget of 1000000 per call exceeded"),
        # sliced work in pcall (was: 60x the budget, exit 0)
        ("sliced work", "slices.lua",
         "function credit(rs, p)\n  for i = 1, 60 do pcall(function() for j = 1, 1e12 do end end) end\n"
         "  local o = {}\n  for k, r in ipairs(rs) do o[k] = r.step_rewards or {} end\n  return o\nend\n",
         "slices.lua:2: instruction budget of 1000000 per call exceeded (a runaway loop? raise the instruction "
         "limit) (group 0)"),
        # a loop in a __gc finalizer (hooks off: was a hang)
        ("__gc loop", "gc.lua",
         "setmetatable({}, {__gc = function() while true do end end})\nfunction credit(rs) return {} end\n",
         "gc.lua:1: setmetatable: __gc metamethods are not available in the sandbox"),
        # a library loop of 2^63 steps (was: a hang)
        ("table.move range", "move.lua", "function credit(rs)\n  table.move({}, 1, math.maxinteger - 1, 2)\nend\n",
         "move.lua:2: instruction budget of 1000000 per call exceeded"),
    ]
    for name, file, code, text in hostile:
        expect_no_crash(name, ["--rule", script(tmp, file, code), "--lua-max-memory-mb", "2"] + b, EXAMPLE, 1, text)
    # the wall clock: 0.2 s on an infinite loop the instruction budget would let run for days
    loop = script(tmp, "forever.lua", "function credit(rs, p)\n  while true do end\nend\n")
    expect_no_crash("time limit", ["--rule", loop, "--lua-max-instructions", "1e15", "--lua-max-seconds", "0.2"] + base,
                    EXAMPLE, 1, "forever.lua:2: time limit of 0.2 s per call exceeded (a runaway loop? raise the time "
                    "limit) (group 0)")
    # non-finite results are an error naming response and group (was: a bare inf, exit 0)
    tokens = script(tmp, "huge.lua", "function credit(rs, p)\n  local o = {}\n  for k, r in ipairs(rs) do\n"
                    "    local t = {}\n    for i = 1, r.length do t[i] = VALUE end\n    o[k] = {tokens = t}\n"
                    "  end\n  return o\nend\n")
    for value in ["1e308", "1e39"]:
        with open(tokens) as f:
            code = f.read()
        huge = script(tmp, f"huge_{value}.lua", code.replace("VALUE", value))
        expect_no_crash(f"rule values {value}", ["--rule", huge] + base, EXAMPLE, 1,
                        "response 0 (group 0) token 0: the return is infinite as a float32")
    overflow = {"responses": [{"group": 0, "length": 2, "step_ends": [0, 1], "step_rewards": [3e38, 3e38]},
                              {"group": 0, "length": 1, "step_ends": [0], "step_rewards": [1]}]}
    expect_no_crash("sum overflow", ["--rule", "sum"] + base, overflow, 2,
                    "response 0 (group 0) token 0: the return is infinite as a float32")
    expect_no_crash("sum overflow rloo", ["--rule", "sum", "--baseline", "rloo"], overflow, 2,
                    "response 0 (group 0) token 0: the return is infinite as a float32")
# sizes bounded by the input: length 1e9 was 11-16 GB of allocations
expect_no_crash("length 1e9", base, {"responses": [{"group": 0, "length": 1000000000}]}, 2,
                "stdin: response 0: length 1000000000 brings the batch to 1000000000 tokens, over the limit of "
                "16777216 tokens per batch (pure credit --max-tokens raises it)", timeout=20)
expect_no_crash("--max-tokens", base + ["--max-tokens", "17"], EXAMPLE, 2,
                "stdin: response 2: length 2 brings the batch to 18 tokens, over the limit of 17 tokens per batch")
p = run(base + ["--max-tokens", "18"], EXAMPLE)
expect("--max-tokens at the total", p.returncode == 0, p.stderr)
# strict JSON with the usual prefix and exit code
expect_no_crash("trailing garbage", base, '{"responses": []} x', 2, "stdin:1:19: unexpected data after the JSON value")
expect_no_crash("duplicate key", base, '{"responses": [{"group": 0, "group": 1, "length": 2}]}', 2,
                'stdin: duplicate key "group" in the object at $.responses[0]')
expect_no_crash("duplicate top key", base, '{"responses": [], "responses": []}', 2,
                'stdin: duplicate key "responses" in the object at $')

print("test_credit_cli:", "FAILED" if failures else "all passed")
sys.exit(1 if failures else 0)
