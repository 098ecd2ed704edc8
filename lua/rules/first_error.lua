-- first_error.lua - credit up to the first mistake (a rule none of the
-- built-ins offers). The first step whose process reward falls below
-- THRESHOLD is the mistake: every token up to the end of that step gets its
-- reward as the process return, and the tokens after it get 0, since what
-- follows a mistake is neither blamed nor credited. A response with no mistake
-- gets its mean step reward on every token of its steps.
-- Compare min-exact, which blames the worst step even when it comes after an
-- earlier, milder mistake. Worked example in docs/lua-api.md.

local THRESHOLD = 0.0

function credit(responses, params)
  local out = {}
  for k, r in ipairs(responses) do
    local rw, ends = r.step_rewards or {}, r.step_ends
    local returns = {}
    for t = 1, r.length do returns[t] = 0 end
    local first = nil
    for j = 1, #rw do
      if rw[j] < THRESHOLD then first = j break end
    end
    if first then
      for t = 1, ends[first] + 1 do returns[t] = rw[first] end  -- step_ends are 0-based token indices
    elseif #rw > 0 then
      local s = 0
      for j = 1, #rw do s = s + rw[j] end
      for t = 1, ends[#rw] + 1 do returns[t] = s / #rw end
    end
    out[k] = {returns = returns}
  end
  return out
end
