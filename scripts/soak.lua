-- The mixed load of scripts/soak.sh, for wrk. Each connection cycles
-- through MIX: anonymous pages, signed-in pages (SOAK_SESSION), the API
-- with a key (SOAK_KEY), an upload of the PNG at BENCH_PNG that the same
-- connection deletes a few requests later (so storage stays level), failed
-- sign-ins spread over the seeded users and a successful sign-in of the
-- account SOAK_EMAIL (its sessions are capped by SESSION_MAX_PER_USER).
--
-- Pacing: wrk cannot aim at a rate (wrk2 is not in Debian), so delay()
-- waits SOAK_DELAY_MS between a connection's requests; soak.sh sets it
-- from the rate it wants and corrects it every minute from the rate it
-- got. Fractions of a millisecond are carried over (wrk takes whole ms).
dofile(os.getenv("BENCH_DIR") .. "/status.lua")

local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local session = "bulwark_session=" .. os.getenv("SOAK_SESSION")
local key = os.getenv("SOAK_KEY")
local fileid = os.getenv("SOAK_FILE")
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local csrf = "bulwark_csrf=" .. os.getenv("BENCH_CSRF_COOKIE")
local token = os.getenv("BENCH_CSRF_TOKEN")
local origin = os.getenv("BENCH_ORIGIN")
local account = os.getenv("SOAK_EMAIL")
local secret = os.getenv("SOAK_PASSWORD")

local f = assert(io.open(os.getenv("BENCH_PNG"), "rb"))
local png = f:read("*a")
f:close()
local b = "soakboundary7MA4YWxkTrZu0gW"
local upload = "--" .. b .. "\r\n" ..
  'Content-Disposition: form-data; name="file"; filename="soak.png"\r\n' ..
  "Content-Type: image/png\r\n\r\n" .. png .. "\r\n--" .. b .. "--\r\n"

local function esc(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local MIX = {
  "home", "me", "account", "login_page", "upload", "search", "file", "me",
  "signin_fail", "home", "account", "delete", "me", "search", "signin_ok", "file",
}

local setup0 = setup
local nextid = 0
function setup(thread)
  nextid = nextid + 1
  thread:set("tid", nextid)
  setup0(thread)
end

local n = 0
local pending = {} -- ids this thread uploaded and has not deleted yet
local carry = 0

local function login(email, password)
  return wrk.format("POST", "/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = csrf, ["Origin"] = origin, ["Sec-Fetch-Site"] = "same-origin",
  }, "csrf_token=" .. esc(token) .. "&email=" .. esc(email) .. "&password=" .. esc(password))
end

function request()
  n = n + 1
  local kind = MIX[(n - 1) % #MIX + 1]
  if kind == "delete" then
    local id = table.remove(pending)
    if id then return wrk.format("DELETE", "/api/files/" .. id, { ["X-API-Key"] = key }) end
    kind = "me"
  end
  if kind == "home" then return wrk.format("GET", "/") end
  if kind == "login_page" then return wrk.format("GET", "/login") end
  if kind == "account" then return wrk.format("GET", "/account", { ["Cookie"] = session }) end
  if kind == "search" then return wrk.format("GET", "/search?q=soak", { ["Cookie"] = session }) end
  if kind == "me" then return wrk.format("GET", "/api/me", { ["X-API-Key"] = key }) end
  if kind == "file" then return wrk.format("GET", "/api/files/" .. fileid, { ["X-API-Key"] = key }) end
  if kind == "upload" then
    return wrk.format("POST", "/api/files", {
      ["X-API-Key"] = key, ["Content-Type"] = "multipart/form-data; boundary=" .. b }, upload)
  end
  if kind == "signin_fail" then
    return login("u" .. ((n * 7 + (tid or 0)) % users) .. "@example.com", "wrong password attempt")
  end
  return login(account, secret)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 201 and body then
    local id = body:match('"id"%s*:%s*"([^"]+)"')
    if id then table.insert(pending, id) end
  end
end

function delay()
  carry = carry + delay_ms
  local whole = math.floor(carry)
  carry = carry - whole
  return whole
end
