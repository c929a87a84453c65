-- BatchEvaluateFeature: 20 evaluations of the feature, new entity ids on every request.
local counter = 0
request = function()
  local parts = {}
  for i = 1, 20 do
    counter = counter + 1
    parts[i] = '{"feature":"f","entityId":"user-' .. counter .. '"}'
  end
  local body = '{"requests":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
