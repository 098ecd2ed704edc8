-- min.lua - the min-form rule (the method's) as a Lua rule: reproduces the
-- built-in `rule: min` to float precision (tests/credit/test_credit.c).
--
-- Each step reward r_j is weighted by w_j = softmax(-r / T)_j over the
-- response's own steps; w_j * r_j is returned per step, and the C side puts it
-- on the step's last token and sums token rewards into returns. As T -> 0 the
-- weight concentrates on the worst step, so every token up to it gets min(r).

function credit(responses, params)
  local T = params.temperature
  local out = {}
  for k, r in ipairs(responses) do
    local rw, steps = r.step_rewards or {}, {}
    local n = #rw
    if n == 0 then
      for j = 1, #r.step_ends do steps[j] = 0 end  -- no process rewards given
    else
      local lo = math.huge
      for j = 1, n do lo = math.min(lo, rw[j]) end
      local z = 0
      for j = 1, n do z = z + math.exp(-(rw[j] - lo) / T) end  -- shifted: exp never overflows
      for j = 1, n do steps[j] = math.exp(-(rw[j] - lo) / T) / z * rw[j] end
    end
    out[k] = {steps = steps}
  end
  return out
end
