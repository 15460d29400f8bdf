-- Shared by the bench/*.lua scripts: counts response statuses per thread
-- and prints them after the run as "status 200=N 401=M ...".
local threads = {}
function setup(thread) table.insert(threads, thread) end
counts = {}
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do table.insert(out, k .. "=" .. total[k]) end
  io.write("status " .. table.concat(out, " ") .. "\n")
end
