-- GCRA over several limits of one key, all or nothing (the model is described
-- in ratelimit/store.go). Times are microseconds on the Redis server's clock.
--
-- KEYS[i]              state of limit i: "<time of last charge> <owed>"
-- ARGV[1]              cost (0 = only look, answering for a cost of 1;
--                      below 0 = refund -cost)
-- ARGV[2i], ARGV[2i+1] Count and Period of limit i
--
-- Returns {allowed (1/0), retry after, remaining 1, reset after 1, ...}.

-- Redis < 5 replicates scripts verbatim and refuses writes after TIME unless
-- told to replicate effects; later versions always do.
if redis.replicate_commands then redis.replicate_commands() end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local need = math.max(cost, 1)
local eps = 1e-9

-- Read every limit: the time of its state and what it owes now, after the
-- refill since then. A missing key owes nothing.
local at, owed, found = {}, {}, {}
for i = 1, #KEYS do
  local count, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local ti, o = now, 0
  local v = redis.call('GET', KEYS[i])
  if v then
    local a, b = string.match(v, '^(%d+) (%S+)$')
    a, b = tonumber(a), tonumber(b)
    if a and b then
      -- If the clock went back (a failover), refill nothing until it catches up.
      if a > now then ti = a end
      o = math.max(b - (ti - a) * count / period, 0)
      found[i] = true
    end
  end
  at[i], owed[i] = ti, o
end

local function save(i, count, period)
  local ttl = math.ceil((at[i] - now + owed[i] * period / count) / 1000) + 1
  redis.call('SET', KEYS[i], string.format('%.0f %.17g', at[i], owed[i]), 'PX', ttl)
end

local allowed, retry = 1, 0
if cost < 0 then
  -- A refund: lower what is owed, never below zero, on keys that exist
  -- only; a key that owes nothing afterwards is deleted.
  for i = 1, #KEYS do
    if found[i] then
      local count, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
      owed[i] = math.max(owed[i] + cost, 0)
      if owed[i] > 0 then
        save(i, count, period)
      else
        redis.call('DEL', KEYS[i])
      end
    end
  end
else
  for i = 1, #KEYS do
    local count, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
    if need > count then
      allowed = 0
      retry = math.max(retry, period)
    else
      local over = owed[i] + need - count
      if over > eps then
        allowed = 0
        retry = math.max(retry, math.ceil((over - eps / 2) * period / count))
      end
    end
  end
  if allowed == 1 and cost > 0 then
    for i = 1, #KEYS do
      owed[i] = owed[i] + cost
      save(i, tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1]))
    end
  end
end

local out = {allowed, retry}
for i = 1, #KEYS do
  local count, period = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local o = owed[i]
  out[2 * i + 1] = math.max(math.floor(count - o + eps), 0)
  out[2 * i + 2] = math.max(math.ceil((o - eps / 2) * period / count), 0)
end
return out
