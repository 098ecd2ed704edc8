-- arith_prm.lua - a process reward model written in Lua, for the toy task (prm: {mode: lua, script: ...}).
--
-- score(problem, steps, reference) is called once per response with the problem text, the response's steps
-- (strings, each with its trailing "\n\n") and the reference answer ("" when the prompt has none); it returns one
-- reward per step. This scorer judges only the arithmetic of a step ("23+45=68" is correct, "23+45=67" is not),
-- not whether the step advances the problem: a deliberately flawed PRM, like the issue's "arithmetic only"
-- checker, that a policy can satisfy with harmless filler steps. The final step is correct when its \boxed{}
-- value equals the last result computed in the steps. It never looks at the reference: a PRM judges the
-- process, not the answer.

local function eval_chain(expr)
  -- "23+45-12" -> 56; nil if it is not a chain of integers joined by + and -
  expr = expr:gsub("%s", "")
  local total, sign, seen = 0, 1, false
  local i = 1
  if expr:sub(1, 1) == "-" then sign, i = -1, 2 end
  while i <= #expr do
    local num = expr:match("^%d+", i)
    if not num then return nil end
    total = total + sign * tonumber(num)
    seen = true
    i = i + #num
    local op = expr:sub(i, i)
    if op == "+" then sign = 1 elseif op == "-" then sign = -1 elseif op ~= "" then return nil end
    if op ~= "" then i = i + 1 end
  end
  return seen and total or nil
end

function score(problem, steps, reference)
  local out, last = {}, nil
  for i, s in ipairs(steps) do
    local r = -1
    local boxed = s:match("\\boxed{%s*(%-?%d+)%s*}")
    local lhs, rhs = s:match("^%s*([%d%+%-%s]+)=%s*(%-?%d+)")
    if boxed then
      if last ~= nil and tonumber(boxed) == last then r = 1 end
    elseif lhs then
      local v = eval_chain(lhs)
      if v ~= nil and v == tonumber(rhs) then r = 1 end
      last = tonumber(rhs)
    end
    out[i] = r
  end
  return out
end
