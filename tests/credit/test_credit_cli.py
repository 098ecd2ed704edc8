"""test_credit_cli.py - `pure credit` (the credit_cli test binary) as a user meets it:
the issue's example, exit codes (0 ok, 1 the Lua rule failed, 2 bad flags or input)
and error messages that name the response and the field.
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

print("test_credit_cli:", "FAILED" if failures else "all passed")
sys.exit(1 if failures else 0)
