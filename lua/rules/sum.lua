-- sum.lua - the canonical sum-form rule as a Lua rule: reproduces the built-in
-- `rule: sum`. Raw step rewards go on the step-end tokens; the C side forms
-- the discounted suffix sum G_t = sum_{t' >= t} gamma^(t'-t) r_t'.

function credit(responses, params)
  local out = {}
  for k, r in ipairs(responses) do
    local steps = {}
    for j = 1, #r.step_ends do steps[j] = r.step_rewards and r.step_rewards[j] or 0 end
    out[k] = steps  -- a plain sequence means per-step values
  end
  return out
end
