-- POST /api/files: one multipart/form-data body, field "file", named
-- bench.png, holding the PNG at BENCH_PNG; BENCH_HEADER carries the API key.
dofile(os.getenv("BENCH_DIR") .. "/status.lua")
local name, value = os.getenv("BENCH_HEADER"):match("^([^:]+):%s*(.*)$")
local f = assert(io.open(os.getenv("BENCH_PNG"), "rb"))
local png = f:read("*a")
f:close()
local b = "benchboundary7MA4YWxkTrZu0gW"
wrk.method = "POST"
wrk.headers[name] = value
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\n" ..
  'Content-Disposition: form-data; name="file"; filename="bench.png"\r\n' ..
  "Content-Type: image/png\r\n\r\n" .. png .. "\r\n--" .. b .. "--\r\n"
