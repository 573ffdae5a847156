-- GET a random one of the seeded Secrets (bench/audit_bench.py sets COUNT and NS).
local count = tonumber(os.getenv("BENCH_COUNT"))
local ns = os.getenv("BENCH_NS")
math.randomseed(os.time())
request = function()
  local path = string.format("/api/v1/namespaces/%s/secrets/s-%06d", ns, math.random(0, count - 1))
  return wrk.format("GET", path)
end
