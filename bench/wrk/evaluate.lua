-- EvaluateFeature, a new entity id on every request (per thread).
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"entityId":"user-' .. counter .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
