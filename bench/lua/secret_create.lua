-- POST Secrets with unique names and a 1 KiB value (bench/audit_bench.py sets NS).
local ns = os.getenv("BENCH_NS")
local value = string.rep("eA", 512)
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  math.randomseed(os.time() + id)
  prefix = string.format("s%d-%d-", id, math.random(1, 1000000000))
  counter = 0
  headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end
request = function()
  counter = counter + 1
  local body = '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"' .. prefix .. counter
    .. '"},"data":{"v":"' .. value .. '"}}'
  return wrk.format("POST", "/api/v1/namespaces/" .. ns .. "/secrets", headers, body)
end
